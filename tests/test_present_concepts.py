"""Presentation mode on the concept pages through AppTest: the title, text, tables and downloads go, the controls
stay, the bar picks the one figure that fills the projector, built at the projector's size with its fonts; Exit
brings the page back with its settings."""
import base64
import json

import numpy as np
import pytest

from convcore.ui import present
from convcore.viz import palette as P

PAGES = {  # page: (prefix, its figures in presentation mode: (name, the plotly_chart keys shown))
    "planner": ("plan", [(None, ["plan_chart"])]),
    "groups-depthwise": ("grp", [("Channels", ["grp_channels"]), ("Separable vs full", ["grp_bars"])]),
    "matrix": ("mat", [("C", ["mat_C", "mat_row"]), ("C^T", ["mat_T"]), ("Gradient", ["mat_grad"])]),
    "checkerboards": ("chk", [("Overlap counts", ["chk_counts"]), ("Upsampled images", ["chk_images"])]),
    "padding": ("pad", [("Padding modes", ["pad_chart"]), ("Convolution outputs", ["pad_outputs"])]),
}
CASES = [(page, prefix, name, keys) for page, (prefix, figures) in PAGES.items() for name, keys in figures]


def array(value) -> np.ndarray:
    """A spec's array: a plain list, or Plotly's typed array ({"dtype", "bdata"}, base64)."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def texts(at) -> list[str]:
    return [e.value for kind in ("title", "header", "subheader", "caption", "markdown") for e in at.get(kind)]


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


@pytest.mark.parametrize("page, prefix, name, keys", CASES)
@pytest.mark.parametrize("screen", ["1280x720", "1920x1080"])
def test_a_concept_page_presents_one_figure_at_the_projectors_size_without_its_text(app_test, page, prefix, name,
                                                                                       keys, screen):
    query = {"present": "1", "screen": screen, **({f"{prefix}_present_figure": name} if name else {})}
    at = app_test(f"pages/concepts/{page}.py", query)
    assert not at.exception, [e.value for e in at.exception]
    assert texts(at) == []  # no title, caption, explanation or table of numbers
    assert not at.get("download_button")
    assert not at.get("expander") or page == "groups-depthwise"  # its box of kernel and input size is a control
    shown = charts(at)
    assert sorted(shown) == sorted(keys)
    room = present.SCREENS[screen]
    for spec in shown.values():
        height = spec["layout"].get("height")
        assert height is not None and height <= room.height - room.AROUND, (page, height)
        width = spec["layout"].get("width")
        assert width is None or width <= room.width - room.SIDES
    assert at.button(key=f"{prefix}_present_exit") is not None


def value_fonts(spec: dict) -> set[int]:
    """The sizes of the numbers a figure prints in its cells (board cells, heatmap cells, bar values)."""
    sizes = set()
    for trace in spec["data"]:
        font = trace.get("textfont") or {}
        if trace.get("type") == "heatmap" and trace.get("texttemplate"):
            sizes.add(font["size"])
        elif trace.get("mode") == "markers+text" and trace.get("customdata"):  # a grid's cells (not its labels)
            sizes.add(font["size"])
    return sizes


@pytest.mark.parametrize("page, prefix, name, key", [
    ("checkerboards", "chk", "Overlap counts", "chk_counts"),
    ("matrix", "mat", "C", "mat_C"),
    ("matrix", "mat", "C", "mat_row"),
    ("matrix", "mat", "Gradient", "mat_grad"),
    ("padding", "pad", "Convolution outputs", "pad_outputs"),
])
def test_values_are_printed_at_the_projectors_value_font(app_test, page, prefix, name, key):
    for screen, size in (("1280x720", 18), ("1920x1080", 27)):
        at = app_test(f"pages/concepts/{page}.py", {"present": "1", "screen": screen,
                                                     f"{prefix}_present_figure": name})
        assert present.SCREENS[screen].fonts.value == size
        assert value_fonts(charts(at)[key]) == {size}, (screen, key)


def test_outside_presentation_mode_the_values_keep_their_size(app_test):
    at = app_test("pages/concepts/checkerboards.py")
    assert value_fonts(charts(at)["chk_counts"]) == {P.VALUE_FONT}
    at = app_test("pages/concepts/matrix.py")
    assert value_fonts(charts(at)["mat_C"]) == {11}


def test_leaving_presentation_mode_brings_back_the_text_and_every_figure(app_test):
    at = app_test("pages/concepts/checkerboards.py", {"present": "1", "chk_k": "4",
                                                      "chk_present_figure": "Upsampled images"})
    assert list(charts(at)) == ["chk_images"]
    at.button(key="chk_present_exit").click().run()
    assert not at.exception
    assert at.title[0].value == "Checkerboard artifacts"
    assert sorted(charts(at)) == ["chk_counts", "chk_images"] and at.get("download_button")
    assert at.number_input(key="chk_k").value == 4  # the settings stayed


def test_the_padding_modes_lie_in_one_row_on_a_projector(app_test):
    at = app_test("pages/concepts/padding.py", {"present": "1"})
    tops = {}  # each mode's top cell row on the board
    for trace in charts(at)["pad_chart"]["data"]:
        name = trace.get("name", "")
        if name.endswith((" input", " padding", "(not allowed)")):
            mode = name.split()[0]
            tops[mode] = min(tops.get(mode, 1e9), float(array(trace["y"]).min()))
    assert len(tops) == 4 and len(set(tops.values())) == 1  # zeros, reflect, replicate, circular side by side
