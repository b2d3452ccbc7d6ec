"""The lessons' animated charts in Streamlit: shown at their own pixel size, clicks on cells handed to a callback,
frames that keep clicks working after Play, and a configuration's figure opened at any step without building it again.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import streamlit as st

from ..viz import CellRef, clicked_cell
from ..viz.animation import BoardFigure, spec_of

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


def at_step(fig: BoardFigure, step: int) -> BoardFigure:
    """A board with frames, built at step 0 (cached, never changed), as if built at `step` (built once per step,
    kept on fig: the same step gives the very same figure).

    What opening at a step changes is what Play would do from there (convcore.viz.animation.build_figure): the
    moving traces hold frame `step`'s updates, the slider and layout.meta name the step, and the frames start at
    it. Built from fig's spec, sharing every unchanged leaf; the JSON is the same as the figure built at the step
    (tested for every view).
    """
    steps = fig.__dict__.setdefault("_steps", {})
    view = steps.get(step)
    if view is None:
        spec = spec_of(fig)
        frames = spec["frames"]
        data = list(spec["data"])
        for i, update in zip(frames[step]["traces"], frames[step]["data"]):
            data[i] = _merged(data[i], update)
        layout = dict(spec["layout"])
        layout["sliders"] = [{**layout["sliders"][0], "active": step}, *layout["sliders"][1:]]
        layout["meta"] = {**layout["meta"], "step": step}
        view = steps.setdefault(step, BoardFigure({"data": data, "layout": layout,
                                                   "frames": frames[step:] + frames[:step]}))  # two sessions: one
    return view


def _merged(trace: dict, update: dict) -> dict:
    """A trace after a frame's update, as Plotly.animate applies it (nested objects merged, arrays replaced)."""
    out = dict(trace)
    for key, value in update.items():
        out[key] = _merged(trace[key], value) if isinstance(value, dict) and isinstance(trace.get(key), dict) \
            else value
    return out


def clickable_frames(fig: BoardFigure) -> BoardFigure:
    """The board with every trace listed in every frame, the static ones with an empty update (a new figure
    sharing fig's traces and layout).

    Plotly.animate(redraw=False) recomputes every trace but re-plots only those a frame lists; the others lose their
    SVG node, and the next click on the chart (Streamlit's on_select sets clickmode "event+select") throws in
    Plotly's selection styling ("Cannot read properties of undefined (reading 'selectAll')"): after Play, Pause or
    the slider, clicks would never reach the page. An empty update re-plots a trace without changing it.
    """
    spec = spec_of(fig)
    if not spec.get("frames"):
        return fig
    everything = range(len(spec["data"]))
    frames = []
    for frame in spec["frames"]:
        moving = list(frame.get("traces") or [])
        still = [i for i in everything if i not in set(moving)]
        frames.append({**frame, "traces": still + moving, "data": [{}] * len(still) + list(frame["data"])})
    return BoardFigure({**spec, "frames": frames})
