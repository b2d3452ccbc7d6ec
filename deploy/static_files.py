"""Streamlit's static files for nginx to serve itself, each compressible one beside its gzip: built once per version.

Through a replica, every fresh browser costs the server ~0.6 s of CPU for 113 files (8 MB of bundles read by Python,
then gzipped by nginx on the fly); nginx serving the precompressed files from disk costs almost nothing. The mirror
is a tree of symlinks to the installed package's files plus the `.gz` files (`gzip_static on`), kept under the user's
cache directory and reused by every later start with the same Streamlit. Its Plotly chunk is a real file instead, cut to
the app's trace types (deploy/slim_plotly.py), or the untouched one if it cannot be cut.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from deploy import slim_plotly

# What `streamlit run` serves at /, found without importing Streamlit into the supervisor (a second or so, ~50 MB).
SOURCE = Path(importlib.util.find_spec("streamlit").origin).resolve().parent / "static"
COMPRESSIBLE = {".js", ".css", ".svg", ".json", ".ttf", ".map", ".txt", ".html"}
MIN_BYTES = 1024  # nginx's gzip_min_length: smaller files are not worth a header


def cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "convolution-studio"


def mirror_name(source: Path = SOURCE) -> str:
    """Names the mirror after the Streamlit build it copies (its version and its index.html, which names every bundle)."""
    digest = hashlib.sha256((source / "index.html").read_bytes()).hexdigest()[:12]
    # ...and the trace types its Plotly chunk keeps: a figure of a new type gets a new mirror, not an old cut.
    traces = "-".join(sorted(slim_plotly.TRACE_TYPES))
    return f"streamlit-{importlib.metadata.version('streamlit')}-static-{digest}-plotly-{traces}"


def precompressed(source: Path = SOURCE, cache: Path | None = None) -> Path:
    """The mirror's root (nginx's `root` for /static/): built on first use, reused afterwards."""
    cache = cache or cache_home()
    root = cache / mirror_name(source)
    if root.is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=cache))
    try:
        for path in source.rglob("*"):
            if path.is_dir():
                continue
            target = building / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            content = _slimmed(path) if slim_plotly.applies(path.name) else None
            if content is None:
                target.symlink_to(path)
            else:
                target.write_bytes(content)
            if path.suffix in COMPRESSIBLE and path.stat().st_size >= MIN_BYTES:
                # mtime=0: the same bytes every build; level 9 costs ~1 s once for all of them.
                content = path.read_bytes() if content is None else content
                (target.parent / (target.name + ".gz")).write_bytes(gzip.compress(content, 9, mtime=0))
        os.chmod(building, 0o755)  # mkdtemp's 0700 would lock out nginx workers running as another user
        try:
            building.rename(root)  # atomic: a concurrent start that finished first keeps its (identical) tree
        except OSError:
            if not root.is_dir():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return root


def _slimmed(chunk: Path) -> bytes | None:
    """The Plotly chunk cut to the app's trace types, or None (said why) to serve it as Streamlit built it."""
    try:
        content = slim_plotly.slim(chunk.read_bytes())
    except slim_plotly.SlimError as error:
        print(f"Serving {chunk.name} whole: {error}", file=sys.stderr)
        return None
    print(f"Serving {chunk.name} cut to Plotly's {', '.join(sorted(slim_plotly.TRACE_TYPES))} traces: "
          f"{chunk.stat().st_size / 1e6:.1f} -> {len(content) / 1e6:.1f} MB", file=sys.stderr)
    return content
