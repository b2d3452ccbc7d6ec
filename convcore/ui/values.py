"""Input and kernel values: named choices (pure numpy) and a picker with editable cells, kept in the URL.

Edited cells are stored in the URL as overrides on top of the named choice (`<prefix>_<name>_cells=` shape, then
`index:value` pairs), so a shared link reproduces hand-edited numbers too.
"""
from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import streamlit as st

from .url_state import check_url_value, note_bad_url_value, set_url_value, show_url_notes, widget_key

INPUT_CHOICES = ("small integers", "ramp", "random integers", "random normal", "ones", "impulse", "checkerboard")
WEIGHT_CHOICES = ("small integers", "ramp", "random integers", "random normal", "ones", "edge x", "edge y",
                  "box average", "identity")
RANDOM = ("random integers", "random normal")
DTYPE = np.float32  # torch's default dtype: the generated code reproduces the numbers exactly


def _grid(shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and flat leading (channel) index of every element, broadcast to shape."""
    *lead, h, w = shape
    r, c = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    ch = np.arange(int(np.prod(lead, dtype=int))).reshape(tuple(lead) + (1, 1))
    return np.broadcast_to(r, shape), np.broadcast_to(c, shape), np.broadcast_to(ch, shape)


def _centred(shape) -> np.ndarray:
    out = np.zeros(shape)
    out[..., (shape[-2] - 1) // 2, (shape[-1] - 1) // 2] = 1
    return out


def _edge(shape, axis: int) -> np.ndarray:
    """Sobel generalised: a difference across `axis` (-1..1), binomial smoothing along the other axis."""
    n_diff, n_smooth = (shape[-1], shape[-2]) if axis == -1 else (shape[-2], shape[-1])
    diff = np.arange(n_diff) - (n_diff - 1) / 2
    smooth = np.array([comb(n_smooth - 1, i) for i in range(n_smooth)], float)
    k = np.outer(smooth, diff) if axis == -1 else np.outer(diff, smooth)
    return np.broadcast_to(k, shape)


def named_values(name: str, shape, seed: int = 0, kind: str = "input") -> np.ndarray:
    """The values a named choice gives an array of `shape` (float32); kind 'input' or 'weight' picks the ranges."""
    shape = tuple(int(v) for v in shape)
    if len(shape) < 2:  # a bias or a single row: generate it as one row of a 2-D array
        return named_values(name, (1,) * (2 - len(shape)) + shape, seed, kind).reshape(shape)
    weight = kind == "weight"
    rng = np.random.default_rng(seed)
    if name == "small integers":  # varied along rows, columns and channels, never constant columns
        r, c, ch = _grid(shape)
        out = (2 * r + 3 * c + ch) % 5 - 2 if weight else (2 * r + 3 * c + ch + 1) % 5
    elif name == "ramp":
        out = np.arange(1, int(np.prod(shape, dtype=int)) + 1).reshape(shape)
    elif name == "random integers":
        out = rng.integers(-3, 4, shape) if weight else rng.integers(0, 10, shape)
    elif name == "random normal":
        out = np.round(rng.standard_normal(shape), 2)
    elif name == "ones":
        out = np.ones(shape)
    elif name in ("impulse", "identity"):
        out = _centred(shape)
    elif name == "checkerboard":
        r, c, _ = _grid(shape)
        out = (r + c) % 2
    elif name == "edge x":
        out = _edge(shape, -1)
    elif name == "edge y":
        out = _edge(shape, -2)
    elif name == "box average":
        out = np.full(shape, 1 / (shape[-2] * shape[-1]))
    else:
        raise ValueError(f"unknown value choice {name!r}; choose one of {sorted(set(INPUT_CHOICES + WEIGHT_CHOICES))}")
    return np.ascontiguousarray(out, dtype=DTYPE)


def encode_overrides(shape, overrides: dict[int, float]) -> str | None:
    """`2x3x3;4:1.5,7:-2` (shape, then flat index:value); None when there is nothing to keep."""
    if not overrides:
        return None
    cells = ",".join(f"{i}:{np.format_float_positional(DTYPE(v), trim='-')}" for i, v in sorted(overrides.items()))
    return "x".join(str(int(v)) for v in shape) + ";" + cells


def decode_overrides(text: str, shape) -> dict[int, float]:
    """Parse encode_overrides' text for an array of `shape`; ValueError for anything else."""
    head, sep, body = text.partition(";")
    expected = "x".join(str(int(v)) for v in shape)
    if not sep or head != expected:
        raise ValueError(f"the edited cells are for shape {head or '?'}, the array now has shape {expected}")
    size = int(np.prod(shape, dtype=int))
    out = {}
    for item in body.split(","):
        index, colon, value = item.partition(":")
        if not colon or not index.isdigit() or not 0 <= int(index) < size:
            raise ValueError(f"bad cell {item!r}: expected index:value with 0 <= index < {size}")
        number = float(value)
        if not np.isfinite(number):
            raise ValueError(f"bad cell {item!r}: the value must be a finite number")
        out[int(index)] = number
    return out


def editor_key(prefix: str, name: str, shape) -> str:
    """The st.data_editor key of a picker (AppTest edits go to at.session_state[editor_key(...)])."""
    return widget_key(prefix, f"{name}_edit_" + "x".join(str(int(v)) for v in shape))


def editing_key(prefix: str, name: str) -> str:
    """The key of a picker's "Edit cells" expander: True while open (AppTest: set it before editing)."""
    return widget_key(prefix, f"{name}_editing")


def _reset_edits(prefix: str, name: str) -> None:
    """on_change of the choice and seed: forget edited cells (they were edits of the previous values)."""
    for key in [k for k in st.session_state if str(k).startswith(widget_key(prefix, f"{name}_edit_"))]:
        del st.session_state[key]
    set_url_value(widget_key(prefix, f"{name}_cells"), None)


def _row_labels(symbol: str, shape) -> list[str]:
    lead = np.ndindex(*shape[:-1]) if len(shape) > 1 else [()]
    return [f"{symbol}[{','.join(map(str, idx))}{',' if idx else ''}:]" for idx in lead]


def value_picker(prefix: str, name: str, label: str, shape, kind: str = "input", default: str | None = None,
                 symbol: str | None = None, editable: bool = True) -> np.ndarray:
    """A named choice (+ seed for random ones) and, optionally, editable cells; returns a float32 array of shape.

    Keys: `<prefix>_<name>` (the choice), `<prefix>_<name>_seed`, editor_key(prefix, name, shape) and its
    expander's editing_key(prefix, name) (the editor is built only while that is open); the URL keeps edited cells
    in `<prefix>_<name>_cells`.
    """
    shape = tuple(int(v) for v in shape)
    options = WEIGHT_CHOICES if kind == "weight" else INPUT_CHOICES
    picked = _choice_with_reset(prefix, name, label, options, default or options[0])
    seed = 0
    if picked in RANDOM:
        seed = _seed_with_reset(prefix, name)
    base = named_values(picked, shape, seed, kind)
    values = base if not editable or base.size == 0 else _edited(prefix, name, label, base, symbol or name)
    show_url_notes()
    return values


def _choice_with_reset(prefix, name, label, options, default):
    key = widget_key(prefix, name)
    index = options.index(default)
    raw = st.query_params.get(key)
    value = st.selectbox(label, options, index=index, key=key, bind="query-params", on_change=_reset_edits,
                         args=(prefix, name))
    check_url_value(key, raw, value, "one of " + ", ".join(options))
    return value


def _seed_with_reset(prefix, name) -> int:
    key = widget_key(prefix, f"{name}_seed")
    raw = st.query_params.get(key)
    value = st.number_input("seed", min_value=0, max_value=9999, value=0, step=1, key=key, bind="query-params",
                            on_change=_reset_edits, args=(prefix, name), help="The same seed gives the same numbers.")
    check_url_value(key, raw, value, "a whole number from 0 to 9999")
    return int(value)


def _edited(prefix: str, name: str, label: str, base: np.ndarray, symbol: str) -> np.ndarray:
    """Apply the URL's edited cells, show the editor, store what the user changed back in the URL."""
    url_key = widget_key(prefix, f"{name}_cells")
    raw = st.query_params.get(url_key)
    values = base.copy()
    if raw:
        try:
            for index, v in decode_overrides(raw, base.shape).items():
                values.flat[index] = v
        except ValueError as err:
            note_bad_url_value(url_key, raw, str(err), "the unedited values")
            set_url_value(url_key, None)
    table = values.reshape(-1, base.shape[-1])
    # Built only while open (a rerun opens it): a data editor is a third of a lesson's sidebar on the server and
    # 1.3 MB of the browser's first load.
    with st.expander(f"Edit {label.lower()} cells", icon=":material/edit:", key=editing_key(prefix, name),
                     on_change="rerun") as box:
        if not box.open:
            edited = table
        else:
            frame = pd.DataFrame(table, index=_row_labels(symbol, base.shape),
                                 columns=[str(c) for c in range(table.shape[1])])
            edited = st.data_editor(frame, key=editor_key(prefix, name, base.shape), width="stretch").to_numpy(float)
            st.caption("Edited cells are kept in the link. Pick another choice to start over.")
    result = np.asarray(edited, dtype=float)
    result = np.where(np.isfinite(result), result, table).astype(DTYPE).reshape(base.shape)  # an emptied cell reverts
    changed = np.flatnonzero(result != base)
    set_url_value(url_key, encode_overrides(base.shape, {int(i): float(result.flat[i]) for i in changed}))
    return result
