"""Colours, fonts and sizes shared by every figure: colour-blind safe, legible when projected."""
from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

# Okabe-Ito: distinguishable with every common colour-vision deficiency
BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")

# signed values: ColorBrewer RdBu (colour-blind safe), blue negative, white zero in the middle, red positive
DIVERGING = [[0.0, "#2166AC"], [0.2, "#4393C3"], [0.4, "#D1E5F0"], [0.5, "#F7F7F7"], [0.6, "#FDDBC7"],
             [0.8, "#D6604D"], [1.0, "#B2182B"]]
# non-negative counts: cividis (designed for colour-vision deficiency)
SEQUENTIAL = [[0.0, "#00224e"], [0.25, "#575d6d"], [0.5, "#8a8678"], [0.75, "#c3b369"], [1.0, "#fee838"]]

ACTIVE = BLACK  # the window's taps, the current output cell, the cells a step reads
FOCUS = GREEN  # a clicked input cell and the output cells it feeds
PADDING_EDGE = ORANGE  # padding cells (their values are the padding mode's)
INSERTED_FILL = "#D0D0D0"  # zeros inserted between input elements
OUTPUT_PADDING_EDGE = PURPLE  # output_padding's extra row / column
GRID_EDGE = "#8C8C8C"
EMPTY_FILL = "#FFFFFF"
MASK = "rgba(255,255,255,0.82)"  # output cells not computed yet
TEXT, MUTED = "#1A1A1A", "#5F5F5F"

FONT_FAMILY = "DejaVu Sans, Arial, Helvetica, sans-serif"  # DejaVu ships with Debian's Chromium: offline
VALUE_FONT = 14  # at least 14 px everywhere: legible on a projector
LABEL_FONT = 14
TITLE_FONT = 16
EQUATION_FONT = 16


@dataclass(frozen=True)
class Fonts:
    """A figure's font sizes in pixels; larger ones (scaled) for a projector. Lengths laid out around text (the
    controls' height, a legend's row, the arithmetic strip) grow with them through px()."""

    value: int = VALUE_FONT  # numbers inside cells
    label: int = LABEL_FONT  # row / column numbers, buttons, legends
    title: int = TITLE_FONT  # a grid's name
    equation: int = EQUATION_FONT  # the arithmetic line

    def scaled(self, k: float) -> Fonts:
        return Fonts(*(round(v * k) for v in astuple(self)))

    def px(self, length: int) -> int:
        """A length laid out for the default label font, at this font size."""
        return round(length * self.label / LABEL_FONT)


FONTS = Fonts()  # the default: legible on a screen and on a projector seen from nearby

CELL_MIN, CELL_MAX = 4, 56  # pixels per cell
CELL_READABLE = 12  # the lesson views grow taller rather than draw cells smaller than this


def scale_limit(*arrays) -> float:
    """The symmetric colour limit max|v| over arrays (real parts), 1 when everything is zero."""
    m = max((float(np.max(np.abs(np.real(a)))) for a in arrays if np.size(a)), default=0.0)
    return m if m > 0 and np.isfinite(m) else 1.0


def text_colours(values: np.ndarray, limit: float, sequential: bool = False) -> list[str]:
    """Dark text on light cells, white on dark ones (the ends of the scale)."""
    v = np.real(np.asarray(values, dtype=complex if np.iscomplexobj(values) else float)).ravel()
    if sequential:
        dark = v / limit < 0.45
    else:
        dark = np.abs(v) / limit > 0.62
    return np.where(dark, "#FFFFFF", TEXT).tolist()


# advance widths of DejaVu Sans in em (digits are all 0.636 em)
_WIDTH = {**{d: 0.636 for d in "0123456789"}, ".": 0.318, "-": 0.361, "+": 0.838, "e": 0.615, "j": 0.278,
          "(": 0.39, ")": 0.39, " ": 0.318}


def text_width(text: str, font: int = VALUE_FONT) -> float:
    """Estimated pixel width of text in DejaVu Sans."""
    return sum(_WIDTH.get(ch, 0.62) for ch in text) * font


def text_fits(texts, cell: int, font: int = VALUE_FONT) -> bool:
    """Whether every text fits inside a cell of `cell` pixels."""
    widest = max((text_width(t, font) for t in set(texts)), default=0.0)
    return cell >= font and widest <= cell - 1  # markers are cell - 2 wide; text may touch their edge
