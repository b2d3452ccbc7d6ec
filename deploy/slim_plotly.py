"""Streamlit's Plotly chunk cut down to the trace types this app draws, for the balancer's copy of /static/.

Why: Streamlit's PlotlyChart chunk holds all of plotly.js (4.7 MB: ~47 trace types with WebGL, maps, 3D). A student's
fresh browser parses it and runs every trace type's registration before the first chart. Cut to the app's types it is
1.7 MB (1.4 -> 0.5 MB gzipped), and a fresh browser's renderer spends ~0.6 s less CPU before the lesson's chart:
first chart 0.81-0.84x in paired runs on a 2-core machine (benchmarks/first_chart.py).

How: the chunk is a rolldown bundle. Every plotly.js source file is a lazy wrapper, `name=_({"path"(e,t){...}})`,
whose body runs only when `name()` is called, and lib/index.js runs `Plotly.register([bar(), box(), ...])`. Keep only
the app's types in that list, then empty the body of every wrapper that no kept code calls (reached from the code
outside the wrappers): code that never runs is all that goes. A call counts whatever it may name (a local of the same
name too), so the cut errs on keeping. tree-sitter parses the file, so text in strings or regexes is never taken for
code. Anything unexpected (another Streamlit bundling differently) raises SlimError with the reason: the caller keeps
the untouched file. Direct `streamlit run` never uses this.
"""
from __future__ import annotations

import bisect
import fnmatch
import re

import tree_sitter_javascript
from tree_sitter import Language, Node, Parser, Query, QueryCursor

# Every trace type the app's figures use (tests/test_slim_plotly.py collects them from the pages and the code).
TRACE_TYPES = frozenset({"scatter", "bar", "heatmap", "image"})
CORE_TRACE = "scatter"  # plotly.js's core registers scatter itself: it is not in lib/index.js's list
CHUNK = "PlotlyChart.*.js"  # Streamlit's lazily imported Plotly chunk, under static/js/

JS = Language(tree_sitter_javascript.language())
# `name = wrap({"path"(...) {body}})`: one module of the bundle, wrapped to run when first called.
MODULES = Query(JS, """(variable_declarator name: (identifier) @name value: (call_expression
    function: (identifier) @wrap
    arguments: (arguments . (object . (method_definition name: (string) @path body: (statement_block) @body) .) .)))""")
# plotly.js's entry point: lib/index.js, wrapped like the others but run at once (`wrap({...})()`), not named.
ENTRY = Query(JS, """(method_definition name: (string) @path body: (statement_block) @body
    (#eq? @path "\\"lib/index.js\\""))""")
CALLS = Query(JS, "(call_expression function: (identifier) @callee)")
# rolldown's __commonJS / __esm: calls its object's first method once, on the first call, i.e. lazily.
LAZY = re.compile(rb"^\([\w$,]+\)=>function\(\)\{.*\(0,([\w$]+)\[[\w$]+\(\1\)\[0\]\]\)\(", re.S)
SCATTER_MODULE = b"src/traces/scatter/index.js"


class SlimError(Exception):
    """The chunk is not the bundle this module knows how to cut (the message says what differs)."""


def applies(name: str) -> bool:
    return fnmatch.fnmatchcase(name, CHUNK)


def _parse(source: bytes) -> Node:
    root = Parser(JS).parse(source).root_node
    if root.has_error:
        raise SlimError("the file does not parse as JavaScript")
    return root


def _modules(root: Node) -> dict[bytes, tuple[bytes, Node]]:
    """{name: (path, body)} of every lazily wrapped module, checked to be lazy and in one scope."""
    modules, wrappers, scopes = {}, set(), {}
    for _, match in QueryCursor(MODULES).matches(root):
        name, wrap = match["name"][0], match["wrap"][0].text
        modules[name.text] = (match["path"][0].text.strip(b"\"'"), match["body"][0])
        wrappers.add(wrap)
        block = name.parent.parent.parent  # declarator -> declaration -> the block declaring it
        scopes[(block.start_byte, block.end_byte)] = block
    if len(scopes) != 1:
        raise SlimError(f"the wrapped modules lie in {len(scopes)} scopes, not one")
    (block,) = scopes.values()
    defined = {}
    for statement in block.named_children:
        if statement.type in ("variable_declaration", "lexical_declaration"):
            for declarator in statement.named_children:
                name, value = declarator.child_by_field_name("name"), declarator.child_by_field_name("value")
                if name is not None and value is not None and name.text in wrappers:
                    defined[name.text] = value.text
    for wrap in wrappers:
        if not LAZY.match(defined.get(wrap, b"")):
            raise SlimError(f"the module wrapper {wrap.decode()} is not a lazy one (run on first call)")
    return modules


def _register_list(root: Node, modules: dict[bytes, tuple[bytes, Node]]) -> tuple[Node, dict[str, Node]]:
    """lib/index.js's `register([...])` array, and its entries by trace (or component) name."""
    index = QueryCursor(ENTRY).captures(root).get("body", [])
    if len(index) != 1:
        raise SlimError("no single lib/index.js module (plotly.js's entry point)")
    calls = [node for node in _descendants(index[0]) if node.type == "call_expression"
             and node.child_by_field_name("function").type == "member_expression"
             and node.child_by_field_name("function").child_by_field_name("property").text == b"register"]
    if len(calls) != 1 or calls[0].child_by_field_name("arguments").named_child_count != 1:
        raise SlimError("lib/index.js has no single register([...]) call")
    array = calls[0].child_by_field_name("arguments").named_children[0]
    if array.type != "array":
        raise SlimError("register's argument is not a list")
    entries = {}
    for entry in array.named_children:
        callee = entry.child_by_field_name("function") if entry.type == "call_expression" else None
        path = modules.get(callee.text, (b"",))[0] if callee is not None and callee.type == "identifier" else b""
        found = re.fullmatch(rb"lib/(\w+)\.js", path)
        if not found:
            raise SlimError(f"register's list holds {entry.text[:40]!r}, not a call of a lib/<trace>.js module")
        entries[found.group(1).decode()] = entry
    return array, entries


def _descendants(node: Node):
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.named_children)


def slim(source: bytes, traces: frozenset[str] | None = None) -> bytes:
    """The chunk with plotly.js registering only `traces` (default TRACE_TYPES) and without the code no kept module
    runs."""
    traces = TRACE_TYPES if traces is None else traces
    root = _parse(source)
    modules = _modules(root)
    array, entries = _register_list(root, modules)
    missing = sorted(set(traces) - {CORE_TRACE} - set(entries))
    if missing:
        raise SlimError(f"plotly.js in this chunk registers no {', '.join(missing)}")
    kept = [entries[name] for name in entries if name in traces]
    dropped = {entry.start_byte for entry in entries.values()} - {entry.start_byte for entry in kept}

    # Which module each zero-argument call lies in (None: outside every module, so it always runs when reached).
    bodies = sorted((body.start_byte, body.end_byte, name) for name, (_, body) in modules.items())
    starts = [start for start, _, _ in bodies]
    calls_from: dict[bytes | None, set[bytes]] = {}
    for callee in QueryCursor(CALLS).captures(root).get("callee", []):
        if callee.text in modules and source[callee.end_byte:callee.end_byte + 2] == b"()" \
                and callee.parent.start_byte not in dropped:
            at = bisect.bisect_right(starts, callee.start_byte) - 1
            inside = at >= 0 and callee.end_byte <= bodies[at][1]
            calls_from.setdefault(bodies[at][2] if inside else None, set()).add(callee.text)
    reached, todo = set(), list(calls_from.get(None, ()))
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(calls_from.get(name, ()))
    if not any(modules[name][0] == SCATTER_MODULE for name in reached):
        raise SlimError("plotly.js's scatter trace would not be kept")

    edits = [(array.start_byte, array.end_byte, b"[" + b",".join(entry.text for entry in kept) + b"]")]
    edits += [(start + 1, end - 1, b"") for start, end, name in bodies if name not in reached]  # keep the braces
    out = bytearray(source)
    for start, end, text in sorted(edits, reverse=True):
        out[start:end] = text
    _parse(bytes(out))  # still JavaScript (a wrong cut would be an error here, not in a student's browser)
    return bytes(out)
