"""The lessons' animated charts in Streamlit: shown at their own pixel size, clicks on cells handed to a callback,
frames that keep clicks working after Play, and a figure converted once for st.plotly_chart instead of every rerun.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from itertools import chain

import plotly.graph_objects as go
import streamlit as st
from _plotly_utils.utils import is_homogeneous_array, is_skipped_key, to_typed_array_spec

from ..viz import CellRef, clicked_cell

CHART_CONFIG = {"displaylogo": False, "displayModeBar": False, "scrollZoom": False, "doubleClick": False}


def chart(fig, key: str, on_cell: Callable[[CellRef], None] | None = None, alt: str | None = None) -> None:
    """Show a lesson figure at its own pixel size; a click on a cell calls on_cell(CellRef(grid, channel, row, col))."""
    if on_cell is None:
        st.plotly_chart(fig, key=key, width="content", config=CHART_CONFIG, alt=alt)
        return
    st.plotly_chart(fig, key=key, width="content", config=CHART_CONFIG, alt=alt, selection_mode="points",
                    on_select=functools.partial(_on_chart_click, key, on_cell))


def _on_chart_click(key: str, handle: Callable[[CellRef], None]) -> None:
    cell = clicked_cell(st.session_state.get(key))
    if cell is not None:
        handle(cell)


def sent_once(fig: go.Figure) -> go.Figure:
    """Mark a figure that will never change again (a cached one) so st.plotly_chart converts it only once."""
    fig.__class__ = _SentFigure
    return fig


class _SentFigure(go.Figure):
    """A cached, never-changed figure whose dict form (what st.plotly_chart sends) is built once, without copying.

    st.plotly_chart calls figure.to_dict(), which deep-copies every trace and frame, then base64-encodes numpy
    arrays: about half of a lesson's rerun at 12x12. The same dict, built by one walk that shares the unchanged
    leaves, once per figure (the figure is cached and never changes).
    """

    def to_dict(self) -> dict:
        sent = self.__dict__.get("_sent_dict")
        if sent is None:
            sent = {"data": _typed(self._data), "layout": _typed(self._layout)}
            frames = [_typed(frame._props) for frame in self._frame_objs]
            if frames:
                sent["frames"] = frames
            object.__setattr__(self, "_sent_dict", sent)
        return sent


def at_step(fig: go.Figure, step: int) -> go.Figure:
    """A sent_once figure with frames, built at step 0, as sent when opened at `step` (built once per step, kept
    on fig: the same step gives the very same figure).

    What opening at a step changes is what Play would do from there (convcore.viz.animation.build_figure): the
    moving traces hold frame `step`'s updates, the slider and layout.meta name the step, and the frames start at
    it. Building that from fig's sent dict shares every unchanged leaf; the JSON is the same as the figure built at
    the step (tested for every view). The result's plotly objects are fig's (step 0): only what is sent differs.
    """
    steps = fig.__dict__.setdefault("_steps", {})
    view = steps.get(step)
    if view is None:
        sent = fig.to_dict()
        frames = sent["frames"]
        data = list(sent["data"])
        for i, update in zip(frames[step]["traces"], frames[step]["data"]):
            data[i] = _merged(data[i], update)
        layout = dict(sent["layout"])
        layout["sliders"] = [{**layout["sliders"][0], "active": step}, *layout["sliders"][1:]]
        layout["meta"] = {**layout["meta"], "step": step}
        view = object.__new__(_SentFigure)
        view.__dict__.update(fig.__dict__)
        view.__dict__.update(_sent_dict={"data": data, "layout": layout, "frames": frames[step:] + frames[:step]},
                             _steps=None)
        view = steps.setdefault(step, view)  # two sessions at once keep one
    return view


def _merged(trace: dict, update: dict) -> dict:
    """A trace after a frame's update, as Plotly.animate applies it (nested objects merged, arrays replaced)."""
    out = dict(trace)
    for key, value in update.items():
        out[key] = _merged(trace[key], value) if isinstance(value, dict) and isinstance(trace.get(key), dict) \
            else value
    return out


def _typed(obj):
    """plotly's to_dict() walk (deepcopy, then convert_to_base64) as one copy of the containers, leaves shared."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            kind = type(value)
            if kind in _LEAVES or is_skipped_key(key):  # plain values are never typed arrays
                out[key] = value
            elif kind not in _CONTAINERS and is_homogeneous_array(value):
                out[key] = to_typed_array_spec(value)
            else:
                out[key] = _typed(value)
        return out
    if isinstance(obj, (list, tuple)):
        types = set(map(type, obj))  # (in C) numbers or strings only, or rows of them (customdata): share the list
        if _CONTAINERS.isdisjoint(types) or (types <= {list, tuple} and
                                             _CONTAINERS.isdisjoint(map(type, chain.from_iterable(obj)))):
            return obj
        return type(obj)(_typed(v) if isinstance(v, (dict, list, tuple)) else v for v in obj)
    return obj


_CONTAINERS = frozenset((dict, list, tuple))
_LEAVES = frozenset((str, int, float, bool, type(None)))


def clickable_frames(fig: go.Figure) -> go.Figure:
    """List every trace in every frame, the static ones with an empty update (in place; returns fig).

    Plotly.animate(redraw=False) recomputes every trace but re-plots only those a frame lists; the others lose their
    SVG node, and the next click on the chart (Streamlit's on_select sets clickmode "event+select") throws in
    Plotly's selection styling ("Cannot read properties of undefined (reading 'selectAll')"): after Play, Pause or
    the slider, clicks would never reach the page. An empty update re-plots a trace without changing it.
    """
    if not fig.frames:
        return fig
    everything = range(len(fig.data))
    frames = []
    for frame in fig._frame_objs if hasattr(fig, "_frame_objs") else fig.frames:
        raw = frame._props  # read only: the frame's own dict, not a copy
        moving = list(raw.get("traces") or [])
        still = [i for i in everything if i not in set(moving)]
        frames.append(go.Frame({**raw, "traces": still + moving, "data": [{}] * len(still) + list(raw["data"])},
                               _validate=False))
    if hasattr(fig, "_frame_objs"):
        fig._frame_objs = tuple(frames)  # as convcore.viz.animation stores them: the public setter re-validates
    else:
        fig.frames = frames
    return fig
