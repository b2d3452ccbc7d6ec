"""The balancer's Plotly chunk cut to the app's trace types (deploy/slim_plotly.py): the cut of the installed
Streamlit's real chunk, what it refuses, the mirror falling back to the whole file, and every trace type the app
draws being one the cut keeps (a figure of a new type must fail here, not draw blank for the students)."""
from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import plotly.graph_objects as go
import pytest
from plotly.basedatatypes import BaseTraceType

from browser import ROOT, app_pages
from conftest import load_app
from deploy import slim_plotly, static_files

CHUNK = next((static_files.SOURCE / "static" / "js").glob(slim_plotly.CHUNK))

# A bundle shaped like rolldown's (a lazy __commonJS wrapper, modules named by path, lib/index.js registering the
# traces): small enough to read, and to run in node when node is there.
TOY = """var Plotly=(()=>{var a=Object.getOwnPropertyNames,
_=(e,t)=>function(){try{return t||(0,e[a(e)[0]])((t={exports:{}}).exports,t),t.exports}catch(e){throw t=0,e}},
S=_({"src/traces/scatter/index.js"(e,t){t.exports={name:`scatter`}}}),
C=_({"src/core.js"(e,t){var n=[S().name];t.exports={names:n,register(e){for(let r of e)n.push(r.name)}}}}),
U=_({"src/lib/shared.js"(e,t){t.exports=`}{ /not code/ "`}}),
B=_({"lib/bar.js"(e,t){t.exports={name:`bar`,shared:U()}}}),
Q=_({"src/traces/pie/only_pie.js"(e,t){t.exports=/}{/.source}}),
P=_({"lib/pie.js"(e,t){t.exports={name:`pie`,only:Q()}}}),
K=_({"lib/calendars.js"(e,t){t.exports={name:`calendars`}}});
return _({"lib/index.js"(e,t){var n=C();n.register([B(),P(),K()]),t.exports=n}})()})();
"""


def bodies(source: bytes) -> dict[str, bytes]:
    """{module path: its body's text} of a bundle."""
    root = slim_plotly._parse(source)
    return {path.decode(): body.text for path, body in slim_plotly._modules(root).values()}


def registered(source: bytes) -> list[str]:
    root = slim_plotly._parse(source)
    return list(slim_plotly._register_list(root, slim_plotly._modules(root))[1])


# -- the cut ---------------------------------------------------------------------------------------------------------

def test_the_installed_chunk_is_cut_to_exactly_the_apps_trace_types():
    source = CHUNK.read_bytes()
    assert len(registered(source)) > 40  # the whole plotly.js: ~47 trace types and components
    slim = slim_plotly.slim(source)
    assert sorted(registered(slim)) == sorted(slim_plotly.TRACE_TYPES - {slim_plotly.CORE_TRACE})
    kept = {path for path, body in bodies(slim).items() if body != b"{}"}
    for path in ("src/traces/scatter/index.js", "src/traces/bar/index.js", "src/traces/heatmap/index.js",
                 "src/traces/image/index.js", "src/plot_api/plot_api.js", "src/components/sliders/index.js",
                 "src/components/updatemenus/index.js", "src/plots/animation_attributes.js"):
        assert path in kept, f"{path} is needed (traces, Plotly.react, Play's buttons and slider)"
    for path in ("lib/pie.js", "src/traces/scatter3d/index.js", "src/plots/map/map.js", "lib/calendars.js"):
        assert path not in kept, f"{path} is not drawn by the app"
    assert len(slim) < len(source) / 2
    # Nothing but the cut changed: Streamlit's own code around plotly.js is there byte for byte.
    head = source.index(b"var W=")
    assert slim[:head] == source[:head] and slim.endswith(source[source.rindex(b"return window.Plotly"):])


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (tree-sitter checked the syntax)")
def test_node_reads_the_cut_chunk_as_a_module(tmp_path):
    (tmp_path / "chunk.mjs").write_bytes(slim_plotly.slim(CHUNK.read_bytes()))
    result = subprocess.run(["node", "--check", str(tmp_path / "chunk.mjs")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_toy_bundle_keeps_what_the_kept_traces_call_and_empties_the_rest(tmp_path):
    slim = slim_plotly.slim(TOY.encode(), frozenset({"scatter", "bar"}))
    assert registered(slim) == ["bar"]
    left = bodies(slim)
    assert left["src/traces/pie/only_pie.js"] == left["lib/pie.js"] == left["lib/calendars.js"] == b"{}"
    assert left["src/lib/shared.js"] == b'{t.exports=`}{ /not code/ "`}'  # braces in a string are not code
    assert b"name:`bar`" in left["lib/bar.js"] and b"S().name" in left["src/core.js"]
    if shutil.which("node"):
        (tmp_path / "toy.js").write_bytes(slim + b"console.log(JSON.stringify(Plotly.names))")
        run = subprocess.run(["node", str(tmp_path / "toy.js")], capture_output=True, text=True, timeout=30)
        assert json.loads(run.stdout) == ["scatter", "bar"], run.stderr


@pytest.mark.parametrize("source, traces, reason", [
    ("var x = ;", slim_plotly.TRACE_TYPES, "does not parse"),
    ("var x = 1;", slim_plotly.TRACE_TYPES, "scopes"),  # no wrapped modules at all
    (TOY.replace("(0,e[a(e)[0]])", "e[a(e)[0]]"), frozenset({"bar"}), "not a lazy one"),
    (TOY, frozenset({"scatter", "bar", "sunburst"}), "registers no sunburst"),
    (TOY.replace("[B(),P(),K()]", "[B(),P(),K()].slice()"), frozenset({"bar"}), "not a list"),
    (TOY.replace("B(),P()", "B(),7"), frozenset({"bar"}), "not a call of a lib/<trace>.js module"),
])
def test_a_bundle_it_does_not_know_is_refused_with_the_reason(source, traces, reason):
    with pytest.raises(slim_plotly.SlimError, match=re.escape(reason)):
        slim_plotly.slim(source.encode(), traces)


# -- in the mirror nginx serves ------------------------------------------------------------------------------------

def fake_static(tmp_path: Path, chunk: str) -> Path:
    source = tmp_path / "static"
    (source / "static" / "js").mkdir(parents=True)
    (source / "index.html").write_text("<html>" + "x" * 2000)
    (source / "static" / "js" / "PlotlyChart.abc.js").write_text(chunk)
    return source


def test_the_mirror_holds_the_cut_chunk_and_its_gzip(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(slim_plotly, "TRACE_TYPES", frozenset({"scatter", "bar"}))
    source = fake_static(tmp_path, TOY + "/*" + "padding " * 200 + "*/")  # over 1 KB: gzipped too
    copy = static_files.precompressed(source, cache=tmp_path / "cache") / "static" / "js" / "PlotlyChart.abc.js"
    assert not copy.is_symlink() and registered(copy.read_bytes()) == ["bar"]
    assert gzip.decompress(copy.with_name(copy.name + ".gz").read_bytes()) == copy.read_bytes()
    assert "PlotlyChart.abc.js cut to Plotly's bar, scatter traces" in capsys.readouterr().err
    assert static_files.mirror_name(source).endswith("-plotly-bar-scatter")  # a new cut, a new mirror


def test_a_chunk_that_cannot_be_cut_is_served_whole_and_the_log_says_why(tmp_path, capsys):
    source = fake_static(tmp_path, "export const a = ;" + "/* not plotly */" * 100)
    copy = static_files.precompressed(source, cache=tmp_path / "cache") / "static" / "js" / "PlotlyChart.abc.js"
    assert copy.is_symlink() and copy.read_bytes() == (source / "static" / "js" / "PlotlyChart.abc.js").read_bytes()
    assert "Serving PlotlyChart.abc.js whole: the file does not parse as JavaScript" in capsys.readouterr().err


# -- the app draws no trace type the cut leaves out -------------------------------------------------------------------

TRACE_CLASSES = {name: cls().type for name in dir(go)  # go imports its classes lazily: vars(go) lacks them
                 if isinstance(cls := getattr(go, name), type) and issubclass(cls, BaseTraceType)}
APP_CODE = sorted([ROOT / "app.py", *(ROOT / "pages").rglob("*.py"), *(ROOT / "convcore").rglob("*.py")])


def test_every_trace_type_named_in_the_apps_code_is_kept():
    """go.<Trace>(...) constructors and "type": "<trace>" / type="<trace>" in the code that builds figures."""
    named = {}
    for path in APP_CODE:
        text = path.read_text()
        assert "plotly.express" not in text, f"{path}: plotly express picks trace types itself; name them here"
        for cls in re.findall(r"\bgo\.([A-Z]\w*)\(", text):
            if cls in TRACE_CLASSES:
                named.setdefault(TRACE_CLASSES[cls], path.relative_to(ROOT))
        for kind in re.findall(r"""["']?\btype["']?\s*[:=]\s*["'](\w+)["']""", text):
            if kind in TRACE_CLASSES.values():
                named.setdefault(kind, path.relative_to(ROOT))
    assert {"scatter", "heatmap"} <= set(named)  # the scan finds the lessons' grids and the images' hover layer
    left_out = {kind: str(path) for kind, path in named.items() if kind not in slim_plotly.TRACE_TYPES}
    assert not left_out, f"add these to deploy/slim_plotly.TRACE_TYPES or the balancer draws them blank: {left_out}"


def chart_types(at) -> set[str]:
    """The trace types of every Plotly chart on the page, frames included (a trace without a type is a scatter)."""
    types = set()
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec.get("data", []) + [t for frame in spec.get("frames", []) for t in frame.get("data", [])]:
            types.add(trace.get("type", "scatter"))
    return types


def test_every_page_draws_only_kept_trace_types():
    drawn = {}
    for page in app_pages():
        at = load_app(page.file)
        assert not at.exception, (page.file, at.exception)
        for kind in chart_types(at):
            drawn.setdefault(kind, page.url_path)
    assert {"scatter", "heatmap", "image", "bar"} <= set(drawn), drawn  # lessons, image lab, groups' counts
    left_out = {kind: page for kind, page in drawn.items() if kind not in slim_plotly.TRACE_TYPES}
    assert not left_out, f"add these to deploy/slim_plotly.TRACE_TYPES or the balancer draws them blank: {left_out}"
