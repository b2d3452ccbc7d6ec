"""Turning a board's traces and per-step updates into one go.Figure: Play / Pause, speeds, a step slider.

Frames are plain dicts that update only the traces that move (go.Frame traces=[...]), all drawn with
redraw=False. The figure is a BoardFigure: its plain spec, which st.plotly_chart sends as it is; plotly's objects
are built only when something reads them (plotly's validation costs ~1 ms a frame, and even unvalidated, its
constructor's deep copy of every trace and frame was ~60% of building a lesson figure). The tests validate each
kind of figure instead.
Past FRAME_CAP steps (or FRAME_POINT_CAP points in all frames) a figure has no frames: the page steps on the server.
"""
from __future__ import annotations

import functools

import plotly.graph_objects as go
import plotly.io as pio

from . import palette as P

__all__ = ["FRAME_CAP", "FRAME_POINT_CAP", "SPEEDS_MS", "BoardFigure", "frames_fit", "build_figure", "is_animated",
           "spec_of", "chrome_height"]

FRAME_CAP = 400  # frames per figure; past this the browser takes seconds to load the figure
FRAME_POINT_CAP = 120_000  # coordinates and texts in all frames together (keeps the JSON under ~1 MB)
SPEEDS_MS = (1000, 500, 250, 100)  # frame durations offered by the speed menu
CONTROLS_HEIGHT = 96  # pixels under the plot for the buttons and the slider (default fonts: see Fonts.px)
LEGEND_HEIGHT = 34  # pixels above the plot for a legend's row (default fonts)


def frames_fit(n_steps: int, points_per_step: int = 0, max_frames: int | None = FRAME_CAP) -> bool:
    """Whether a figure of n_steps steps gets client-side frames (else the page steps on the server).

    max_frames=None: every step gets a frame, whatever the caps (exports render frames on the server, no browser).
    """
    if max_frames is None:
        return n_steps > 1
    return 1 < n_steps <= max_frames and n_steps * points_per_step <= FRAME_POINT_CAP


def is_animated(fig) -> bool:
    """True when the figure carries frames (Play works in the browser)."""
    meta = spec_of(fig)["layout"].get("meta")
    return bool(meta and meta.get("animated"))


def _animate_args(names, duration: int, from_current: bool = False) -> list:
    opts = {"frame": {"duration": duration, "redraw": False}, "transition": {"duration": 0},
            "mode": "immediate"}
    if from_current:
        opts["fromcurrent"] = True
    return [names, opts]


def chrome_height(animated: bool, legend: bool, fonts: P.Fonts = P.FONTS) -> int:
    """Pixels build_figure adds to the plot: the controls under it, a legend's row above it."""
    return fonts.px(CONTROLS_HEIGHT) * animated + fonts.px(LEGEND_HEIGHT) * legend


def _controls(step: int, labels: list[str], frame_ms: int, fonts: P.Fonts) -> dict:
    font = {"size": fonts.label, "family": P.FONT_FAMILY, "color": P.TEXT}
    buttons = {
        "type": "buttons", "direction": "left", "showactive": False, "x": 0.0, "y": 0, "xanchor": "left",
        "yanchor": "top", "pad": {"t": fonts.px(44), "r": 6}, "font": font, "bgcolor": "#F2F2F2", "bordercolor": P.GRID_EDGE,
        "buttons": [
            {"label": "▶ Play", "method": "animate", "args": _animate_args(None, frame_ms, True)},
            {"label": "❚❚ Pause", "method": "animate", "args": _animate_args([None], 0)},
        ],
    }
    active = min(range(len(SPEEDS_MS)), key=lambda i: abs(SPEEDS_MS[i] - frame_ms))
    speeds = {
        "type": "dropdown", "direction": "up", "showactive": True, "active": active, "x": 0.0, "y": 0,
        "xanchor": "left", "yanchor": "top", "pad": {"t": fonts.px(44), "l": fonts.px(196)}, "font": font, "bgcolor": "#F2F2F2",
        "bordercolor": P.GRID_EDGE,
        "buttons": [{"label": f"▶ {1000 / ms:g} step{'' if ms == 1000 else 's'}/s", "method": "animate",
                     "args": _animate_args(None, ms, True)} for ms in SPEEDS_MS],
    }
    slider = {
        "active": step, "x": 0.0, "len": 1.0, "y": 0, "yanchor": "top", "xanchor": "left", "pad": {"t": 4, "b": 0},
        "currentvalue": {"prefix": "step ", "visible": True, "xanchor": "right", "offset": 6,
                         "font": font},
        # tick labels hidden (they would collide); the current step's label shows above the slider
        "font": {"size": 1, "color": "rgba(0,0,0,0)"}, "ticklen": 0, "minorticklen": 0, "transition": {"duration": 0},
        "steps": [{"label": label, "method": "animate", "args": _animate_args([str(i)], 0)}
                  for i, label in enumerate(labels)],
    }
    return {"updatemenus": [buttons, speeds], "sliders": [slider]}


def build_figure(traces: list[dict], width: int, height: int, *, frames: list[dict] | None = None, step: int = 0,
                 labels: list[str] | None = None, frame_ms: int = 500, meta: dict | None = None,
                 legend: bool = False, fonts: P.Fonts = P.FONTS) -> BoardFigure:
    """The figure: pixel axes (y down), fixed size, and with frames the animation controls (sized for `fonts`).

    `frames` are dicts {"name", "traces", "data"} for steps 0..S-1; they are stored starting at `step` (then
    wrapping round) so that Play, pressed first, continues from the step the figure opens at.
    """
    animated = bool(frames)
    plot_h = height
    legend_h = chrome_height(False, legend, fonts)
    layout = {
        "width": width,
        "height": plot_h + chrome_height(animated, legend, fonts),
        "autosize": False,
        "margin": {"l": 0, "r": 0, "t": legend_h, "b": chrome_height(animated, False, fonts), "pad": 0},
        "xaxis": {"range": [0, width], "visible": False, "fixedrange": True},
        "yaxis": {"range": [plot_h, 0], "visible": False, "fixedrange": True},
        "plot_bgcolor": "#FFFFFF", "paper_bgcolor": "#FFFFFF",
        "font": {"family": P.FONT_FAMILY, "size": fonts.label, "color": P.TEXT},
        "hoverlabel": {"font": {"size": fonts.label, "family": P.FONT_FAMILY}},
        "showlegend": legend, "clickmode": "event+select", "dragmode": False,
        "meta": {"animated": animated, "step": step, "frame_cap": FRAME_CAP, **(meta or {})},
    }
    if legend:
        layout["legend"] = {"orientation": "h", "x": 0, "y": 1, "xanchor": "left", "yanchor": "bottom",
                            "font": {"size": fonts.label}, "itemclick": False, "itemdoubleclick": False}
    if animated:
        layout.update(_controls(step, labels or [str(i) for i in range(len(frames))], frame_ms, fonts))
    template = _template()
    if template is not None:  # as go.Figure would fill it in
        layout["template"] = template
    spec = {"data": traces, "layout": layout}
    if animated:
        spec["frames"] = frames[step:] + frames[:step]
    return BoardFigure(spec)


class BoardFigure(go.Figure):
    """A figure held as its plain spec {"data", "layout", "frames"} (dicts, lists, numpy arrays), a go.Figure only
    once something reads it as one.

    st.plotly_chart only calls to_dict(), which returns the spec itself: never mutate it (figures are cached and
    shared). Its JSON is what plotly would send for the same figure, except that numpy arrays go as lists of numbers
    instead of base64 (smaller for these small integers and 3-digit colours, and no copy to encode them). Reading
    .data, .layout, .frames or calling a method (tests, exports, fig.add_annotation) builds plotly's objects once,
    from the spec, as go.Figure(..., _validate=False) did; from then on the figure is plotly's (to_dict, spec_of).
    """

    def __init__(self, spec: dict):  # noqa: D107 - go.Figure.__init__ runs later, in _build
        self.__dict__["spec"] = spec

    @property
    def built(self) -> bool:
        """Whether plotly's objects exist (then they, not the spec, are the figure)."""
        return "_building" in self.__dict__

    def __getattr__(self, name: str):  # only for attributes not set yet: plotly's, built on first use
        if name.startswith("__") or self.built:
            raise AttributeError(name)
        self._build()
        return getattr(self, name)

    def _build(self) -> None:
        self.__dict__["_building"] = True
        spec = self.__dict__["spec"]
        go.Figure.__init__(self, data=spec["data"], layout=spec["layout"], _validate=False)
        _attach_frames(self, spec.get("frames") or ())

    def to_dict(self) -> dict:
        return go.Figure.to_dict(self) if self.built else self.spec

    def __reduce__(self):  # pickle and copy.deepcopy: the figure as it is now, as a spec
        return (BoardFigure, (self.to_dict(),))


def spec_of(fig) -> dict:
    """A figure's {"data", "layout", "frames"} as plain dicts, without copying: a BoardFigure's spec, a go.Figure's
    own property dicts, or a dict figure itself. Read only."""
    if isinstance(fig, dict):
        return fig
    if isinstance(fig, BoardFigure) and not fig.built:
        return fig.spec
    frames = fig._frame_objs if hasattr(fig, "_frame_objs") else fig.frames
    return {"data": fig._data, "layout": fig._layout, "frames": [f._props for f in frames]}


@functools.lru_cache(maxsize=8)
def _template_of(name: str | None) -> dict | None:
    return go.Figure().to_dict()["layout"].get("template")


def _template() -> dict | None:
    """The layout.template go.Figure fills in (the default one, e.g. Streamlit's once streamlit is imported): the
    same dict for every figure, built once per template name. Read only."""
    return _template_of(pio.templates.default)


def _attach_frames(fig: go.Figure, frames) -> None:
    objs = tuple(go.Frame(f, _validate=False) for f in frames)
    if hasattr(fig, "_frame_objs"):
        fig._frame_objs = objs  # plotly stores frames here; the public setter would validate every frame again
    else:  # a future plotly: the slow, validated way
        fig.frames = objs
