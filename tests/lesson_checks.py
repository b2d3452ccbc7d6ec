"""Helpers for the lesson pages' AppTests: read what a lesson shows (arithmetic, figure, shapes) and check it against
the engine and against torch (through the page's own PyTorch code panel)."""
from __future__ import annotations

import contextlib
import html
import io
import json
import re

import numpy as np
import torch

from convcore.ui import ConvConfig, named_values

torch.set_num_threads(1)


def arithmetic(at) -> tuple[str, list[str]]:
    """(title, lines) of the arithmetic panel (the markdown holding the `cs-arithmetic` block)."""
    blocks = [m.value for m in at.markdown if "cs-arithmetic" in m.value]
    assert len(blocks) == 1, f"expected one arithmetic panel, found {len(blocks)}"
    title, body = blocks[0].split("\n\n", 1)
    inner = re.search(r">(.*)</div>", body, re.S).group(1)
    return title.strip("*"), [html.unescape(line) for line in inner.split("<br>")]


def shown_cell(lines: list[str]) -> tuple[tuple[int, ...], float]:
    """The output cell the arithmetic ends with, `out[b,o,r,c] = v` -> ((b, o, r, c), v)."""
    match = re.fullmatch(r"out\[(\d+),(\d+),(\d+),(\d+)\] = (\S+)", lines[-1])
    assert match, f"the arithmetic does not end with the output cell: {lines[-1]!r}"
    return tuple(int(g) for g in match.groups()[:4]), float(match.group(5))


def held_values(line: str) -> list[float]:
    """The canvas values a scatter step's last arithmetic line lists ("... now hold: 1, 2.5, ...")."""
    return [float(v) for v in line.split("now hold: ")[1].split(", ")]


def close_to_shown(value: float, shown: float) -> bool:
    """Whether an exact value prints as `shown` (the page prints 4 significant digits)."""
    return abs(value - shown) <= 5e-4 * max(abs(value), 1e-30) + 1e-6


def figure(at, index: int = 0) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) > index, f"expected at least {index + 1} chart(s), found {len(charts)}"
    return json.loads(charts[index].proto.spec)


def assert_frames_list_every_trace(fig: dict) -> None:
    """Clicks keep working after Play only if every frame re-plots every trace (see lesson_chart.clickable_frames)."""
    assert fig.get("frames"), "the figure has no frames"
    every = list(range(len(fig["data"])))
    for frame in fig["frames"]:
        assert sorted(frame["traces"]) == every, f"frame {frame['name']} lists {frame['traces']}"


def figure_step(at, index: int = 0) -> int:
    return int(figure(at, index)["layout"]["meta"]["step"])


CODE_PANELS = ("c2_code", "ct_code")  # the lessons' code panels: built only while open (ui.code_panel's key)


def code_text(at) -> str:
    """The page's PyTorch code; a lesson's code panel is opened first (a rerun) if it is closed."""
    codes = [c.value for c in at.code if "import torch" in c.value]
    closed = [key for key in CODE_PANELS if key in at.session_state and not at.session_state[key]]
    if not codes and closed:  # (a closed panel sent no PyTorch code: `codes` is empty)
        for key in closed:
            at.session_state[key] = True
        at.run()
        codes = [c.value for c in at.code if "import torch" in c.value]
    assert len(codes) == 1, "expected one PyTorch code panel"
    return codes[0]


def code_output(at) -> np.ndarray:
    """Run the page's PyTorch code panel with torch and return its `y` (the oracle for what the page shows)."""
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code_text(at), scope)  # noqa: S102 - the page's own generated code, run on purpose
    return scope["y"].detach().numpy()


def values(cfg: ConvConfig, x: str = "small integers", w: str = "small integers", b: str = "small integers"):
    """The arrays the value pickers give for these choices (seed 0, no edited cells)."""
    xs = named_values(x, cfg.input_shape, 0, "input")
    ws = named_values(w, cfg.weight_shape, 0, "weight")
    bs = named_values(b, cfg.bias_shape, 0, "weight") if cfg.bias else None
    return xs, ws, bs


def check_arithmetic(at, cfg: ConvConfig, choices: dict | None = None, out_channel: int = 0) -> tuple[int, ...]:
    """The arithmetic's cell equals the engine's output cell and torch's (run from the code panel); returns it."""
    _, lines = arithmetic(at)
    cell, shown = shown_cell(lines)
    engine = cfg.forward(*values(cfg, **(choices or {})))
    assert cell[1] == out_channel
    assert close_to_shown(float(engine[cell]), shown), f"page shows {shown}, engine has {engine[cell]}"
    ref = code_output(at)
    assert ref.shape == engine.shape, f"torch's output {ref.shape} != engine's {engine.shape}"
    assert close_to_shown(float(ref[cell]), shown), f"page shows {shown}, torch has {ref[cell]}"
    return cell


def shape_line(at) -> str:
    lines = [m.value for m in at.markdown if m.value.startswith("input `")]
    assert len(lines) == 1, "expected one shape line"
    return lines[0]


def no_exception(at) -> None:
    assert not at.exception, f"exception: {[e.message for e in at.exception]}"
