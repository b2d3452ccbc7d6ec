"""Widgets bound to the URL, and the check that tells the user when a link carried a value that was not used.

Streamlit (1.67) silently drops a bound query value it cannot use (unparsable, out of range, not an option) and
truncates a fractional number for an int widget. These wrappers notice that by comparing the URL value with the
value the widget returned, but only when the URL value is new to this session (a page load or an edited link;
the URL follows the widgets afterwards), and collect a note that `show_url_notes()` turns into one st.warning.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

_SEEN = "_url_seen"  # session_state: the last URL value checked per key
_NOTES = "_url_notes"  # session_state: notes collected during this run


def widget_key(prefix: str, name: str) -> str:
    """The widget key and query-parameter name for a page prefix and a field name."""
    return f"{prefix}_{name}"


def _matches(raw: str, value: Any) -> bool:
    if value is None:
        return raw == ""
    if isinstance(value, bool):
        return raw.lower() == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            return math.isclose(float(raw), value)
        except ValueError:
            return False
    return raw == str(value)


def check_url_value(key: str, raw: str | None, value: Any, allowed: str) -> None:
    """Note a link value `raw` (read before the widget was drawn) that the widget did not take.

    Streamlit removes an unusable bound value from st.query_params while drawing the widget, so callers read
    `raw = st.query_params.get(key)` first. Only a value new to this session is checked: afterwards the URL
    follows the widget (and AppTest does not update it at all).
    """
    seen = st.session_state.setdefault(_SEEN, {})
    if raw is None or seen.get(key) == raw:
        return
    seen[key] = raw
    if not _matches(raw, value):
        note_bad_url_value(key, raw, allowed, value)


def note_bad_url_value(key: str, raw: str, allowed: str, used: Any) -> None:
    """Record that the link's `key=raw` was not usable; `show_url_notes()` reports it."""
    used_text = str(used).lower() if isinstance(used, bool) else str(used)
    st.session_state.setdefault(_NOTES, []).append(f"`{key}={raw}` (allowed: {allowed}; using {used_text})")


def show_url_notes() -> None:
    """One st.warning listing the link values that were replaced by defaults in this run, then forget them."""
    notes = st.session_state.pop(_NOTES, [])
    if notes:
        st.warning(
            "This link contained settings that are not valid here, so they were replaced: " + "; ".join(notes),
            icon=":material/link_off:",
        )


def int_input(prefix: str, name: str, label: str, min_value: int, max_value: int, default: int | None,
              help: str | None = None, disabled: bool = False, placeholder: str | None = None) -> int | None:
    """A bound integer number_input; the range may change between runs (an out-of-range value resets).

    default None starts the box empty (returns None until a number is typed); placeholder explains that.
    """
    key = widget_key(prefix, name)
    max_value = max(min_value, max_value)
    if default is not None:
        default = min(max(default, min_value), max_value)
    raw = st.query_params.get(key)
    value = st.number_input(label, min_value=min_value, max_value=max_value, value=default, step=1, key=key,
                            help=help, disabled=disabled, placeholder=placeholder, bind="query-params")
    check_url_value(key, raw, value, f"a whole number from {min_value} to {max_value}")
    return None if value is None else int(value)


def int_row(prefix: str, fields: Sequence[tuple], columns: Sequence | None = None) -> list[int | None]:
    """int_input widgets side by side: fields are (name, label, min, max, default[, help]), one per column
    (st.columns(len(fields)) unless the page passes its own)."""
    columns = st.columns(len(fields)) if columns is None else columns
    values = []
    for column, (name, label, low, high, default, *help) in zip(columns, fields):
        with column:
            values.append(int_input(prefix, name, label, low, high, default, help=help[0] if help else None))
    return values


def choice(prefix: str, name: str, label: str, options: Sequence, default=None, help: str | None = None,
           horizontal: bool = False, format_func: Callable[[Any], str] = str) -> Any:
    """A bound selectbox (or a horizontal radio); the URL holds format_func(option), str by default."""
    key = widget_key(prefix, name)
    options = list(options)
    index = options.index(default) if default in options else 0
    raw = st.query_params.get(key)
    if horizontal:
        value = st.radio(label, options, index=index, key=key, help=help, horizontal=True, format_func=format_func,
                         bind="query-params")
    else:
        value = st.selectbox(label, options, index=index, key=key, help=help, format_func=format_func,
                             bind="query-params")
    check_url_value(key, raw, format_func(value), "one of " + ", ".join(format_func(o) for o in options))
    return value


def flag(prefix: str, name: str, label: str, default: bool, help: str | None = None) -> bool:
    """A bound toggle (the URL holds true/false)."""
    key = widget_key(prefix, name)
    raw = st.query_params.get(key)
    value = st.toggle(label, value=default, key=key, help=help, bind="query-params")
    check_url_value(key, raw, value, "true or false")
    return bool(value)


def url_int(key: str, default: int, min_value: int, max_value: int) -> int:
    """An integer kept in st.query_params without a widget (a step, a selected cell); bad values fall back."""
    raw = st.query_params.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not min_value <= value <= max_value:
        seen = st.session_state.setdefault(_SEEN, {})
        if seen.get(key) != raw:
            seen[key] = raw
            note_bad_url_value(key, raw, f"a whole number from {min_value} to {max_value}", default)
        return default
    return value


def set_url_value(key: str, value, default=None) -> None:
    """Write non-widget state to the URL (removed when it equals the default); no message is sent if unchanged."""
    text = None if value is None or value == default else str(value)
    current = st.query_params.get(key)
    if text == current:
        return
    if text is None:
        del st.query_params[key]
    else:
        st.query_params[key] = text
    st.session_state.setdefault(_SEEN, {})[key] = text
