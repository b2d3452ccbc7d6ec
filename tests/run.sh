#!/usr/bin/env bash
# Installs everything the tests need (Debian's Chromium for the browser tests, the package with its test extras)
# and runs the whole suite. Used by README and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi
python -m pip install -q -e ".[test]"
python -m pytest "$@"
