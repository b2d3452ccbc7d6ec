"""The balancer serves Streamlit's static files itself, precompressed (deploy/static_files.py, nginx/static.conf):
the same bytes as a replica's, gzip-encoded for browsers that accept it, cacheable for good, no replica involved."""
from __future__ import annotations

import gzip
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from deploy import render, slim_plotly, static_files
from deploy.cluster import NGINX
from deploy_fixtures import cluster_fixture, need_nginx

JS = static_files.SOURCE / "static" / "js"
# The largest bundle served as Streamlit built it (the larger Plotly chunk is cut: tests/test_slim_plotly.py).
BUNDLE = max((p for p in JS.glob("*.js") if not slim_plotly.applies(p.name)), key=lambda p: p.stat().st_size)
PLOTLY = next(JS.glob(slim_plotly.CHUNK))


@pytest.fixture
def cluster():
    yield from cluster_fixture()


def fetch(url: str, gzip_ok: bool) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def test_the_mirror_links_every_file_and_gzips_the_compressible_ones_once(tmp_path):
    source = tmp_path / "static"
    (source / "static" / "js").mkdir(parents=True)
    (source / "index.html").write_text("<html>" + "x" * 2000)
    big, small, font = (source / "static" / "js" / "a.js", source / "static" / "js" / "b.js",
                        source / "static" / "f.woff2")
    big.write_text("const a = 1;\n" * 500)
    small.write_text("b()")
    font.write_bytes(os.urandom(4000))
    root = static_files.precompressed(source, cache=tmp_path / "cache")
    for original in (big, small, font, source / "index.html"):
        copy = root / original.relative_to(source)
        assert copy.is_symlink() and copy.resolve() == original.resolve()
    assert gzip.decompress((root / "static" / "js" / "a.js.gz").read_bytes()) == big.read_bytes()
    assert not (root / "static" / "js" / "b.js.gz").exists(), "a file under 1 KB is not worth compressing"
    assert not (root / "static" / "f.woff2.gz").exists(), "woff2 is compressed already"
    stamp = (root / "static" / "js" / "a.js.gz").stat().st_mtime_ns
    assert static_files.precompressed(source, cache=tmp_path / "cache") == root  # reused, not rebuilt
    assert (root / "static" / "js" / "a.js.gz").stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [root.name], "no half-built tree left behind"


def test_the_config_with_static_files_passes_nginx_t(tmp_path):
    need_nginx()
    conf = render.balancer_conf(["127.0.0.1:9001", "127.0.0.1:9002"], "127.0.0.1:9000",
                                static_root=static_files.precompressed())
    assert "gzip_static on;" in conf and "location /static/" in conf
    (tmp_path / "balancer.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(render.main_conf(tmp_path))
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "test is successful" in result.stderr, result.stderr
    assert "location /static/" not in render.compose_conf(), "compose's balancer has no Streamlit files"


def test_the_balancer_serves_the_bundles_itself_precompressed_and_cacheable(cluster):
    url = f"{cluster.url}/static/js/{BUNDLE.name}"
    status, headers, body = fetch(url, gzip_ok=True)
    assert status == 200 and headers["content-encoding"] == "gzip" and "x-replica" not in headers
    assert headers["content-type"] == "application/javascript"  # browsers refuse modules of another type
    assert "immutable" in headers["cache-control"] and "max-age=31536000" in headers["cache-control"]
    assert gzip.decompress(body) == BUNDLE.read_bytes()
    assert len(body) < BUNDLE.stat().st_size / 2
    status, headers, body = fetch(url, gzip_ok=False)  # a client without gzip gets the file as it is
    assert status == 200 and "content-encoding" not in headers and body == BUNDLE.read_bytes()
    # The same file a replica would send.
    replica = cluster.members[0].url
    assert fetch(f"{replica}/static/js/{BUNDLE.name}", gzip_ok=False)[2] == body
    # A name this copy lacks goes to a replica (as every path did before).
    status, headers, _ = fetch(f"{cluster.url}/static/js/not-in-this-build.js", gzip_ok=True)
    assert headers.get("x-replica") in {r.address for r in cluster.members}


def test_the_cut_plotly_chunk_is_revalidated_not_kept_for_good(cluster):
    """Its name is Streamlit's, its content the cut for today's trace types: a browser must not keep an older cut."""
    url = f"{cluster.url}/static/js/{PLOTLY.name}"
    status, headers, body = fetch(url, gzip_ok=True)
    assert status == 200 and headers["content-encoding"] == "gzip" and "x-replica" not in headers
    assert headers["cache-control"] == "no-cache" and headers["etag"]
    assert gzip.decompress(body) == slim_plotly.slim(PLOTLY.read_bytes())
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]})
    with pytest.raises(urllib.error.HTTPError) as unchanged:  # urllib raises on a 304
        urllib.request.urlopen(request, timeout=30)
    assert unchanged.value.code == 304
