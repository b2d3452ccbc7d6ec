#!/usr/bin/env bash
# Installs everything the tests need (Debian's Chromium for the browser tests, the package with its test extras)
# and runs the whole suite. Used by README and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 || [ ! -x /usr/sbin/nginx ]; then
    apt-get update -qq
    # RUNLEVEL=1: install nginx for the deploy tests (they run their own) without starting the system service.
    RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core nginx >/dev/null
fi
python -m pip install -q -e ".[test]"
python -m pytest "$@"
