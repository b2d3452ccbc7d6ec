"""Named 2-D kernels and a safe text parser for custom ones.

Every kernel is a float64 (kH, kW) array used as PyTorch uses it: cross-correlation, no flip. So `sobel_x` is
positive where brightness increases to the right. Channel handling (grayscale, depthwise, full mixing) lives in
`channel_weight`, which turns one (kH, kW) kernel into the 4-D weight of the chosen layer.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = [
    "MAX_KERNEL_SIZE",
    "PRESETS",
    "Preset",
    "KernelParseError",
    "make_kernel",
    "identity",
    "box_blur",
    "gaussian",
    "sharpen",
    "unsharp_mask",
    "sobel_x",
    "sobel_y",
    "prewitt_x",
    "prewitt_y",
    "scharr_x",
    "scharr_y",
    "laplacian",
    "emboss",
    "outline",
    "motion_blur",
    "bilinear_upsampling",
    "bilinear_padding",
    "parse_kernel",
    "format_kernel",
    "CHANNEL_MODES",
    "CHANNEL_MATRICES",
    "channel_weight",
]

MAX_KERNEL_SIZE = 31


def _check_size(size, name: str = "size") -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"kernel {name} must be an int, got {size!r}")
    if not 1 <= size <= MAX_KERNEL_SIZE:
        raise ValueError(f"kernel {name} must be between 1 and {MAX_KERNEL_SIZE}, got {name}={size}")
    return int(size)


def _fixed(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def identity(size: int = 3) -> np.ndarray:
    """A single 1 in the centre (top-left of the centre for even sizes): the output copies the input."""
    size = _check_size(size)
    k = np.zeros((size, size))
    k[(size - 1) // 2, (size - 1) // 2] = 1.0
    return k


def box_blur(size: int = 3) -> np.ndarray:
    """The mean of a size x size window."""
    size = _check_size(size)
    return np.full((size, size), 1.0 / (size * size))


def gaussian(size: int = 5, sigma: float = 1.0) -> np.ndarray:
    """A sampled 2-D Gaussian centred in the window, normalised to sum 1."""
    size = _check_size(size)
    if not (isinstance(sigma, (int, float, np.floating)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"gaussian sigma must be a positive number, got sigma={sigma!r}")
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-(t**2) / (2.0 * float(sigma) ** 2))
    k = np.outer(g, g)
    return k / k.sum()


def sharpen() -> np.ndarray:
    """Centre minus its four neighbours (identity + negative Laplacian)."""
    return _fixed([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])


def unsharp_mask(size: int = 5, sigma: float = 1.0, amount: float = 1.0) -> np.ndarray:
    """identity + amount * (identity - gaussian): adds back the detail a blur removes."""
    if not (isinstance(amount, (int, float, np.floating)) and math.isfinite(amount)):
        raise ValueError(f"unsharp mask amount must be a finite number, got amount={amount!r}")
    blur = gaussian(size, sigma)
    delta = identity(size)
    return delta + float(amount) * (delta - blur)


def sobel_x() -> np.ndarray:
    """Horizontal gradient, smoothed vertically: positive where brightness increases to the right."""
    return _fixed([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def sobel_y() -> np.ndarray:
    """Vertical gradient: positive where brightness increases downwards."""
    return sobel_x().T.copy()


def prewitt_x() -> np.ndarray:
    return _fixed([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])


def prewitt_y() -> np.ndarray:
    return prewitt_x().T.copy()


def scharr_x() -> np.ndarray:
    """Sobel with weights tuned for rotational symmetry."""
    return _fixed([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]])


def scharr_y() -> np.ndarray:
    return scharr_x().T.copy()


def laplacian() -> np.ndarray:
    """The 4-neighbour Laplacian: zero on flat and linear regions, large at edges and fine detail."""
    return _fixed([[0, 1, 0], [1, -4, 1], [0, 1, 0]])


def emboss() -> np.ndarray:
    return _fixed([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])


def outline() -> np.ndarray:
    """The 8-neighbour Laplacian, negated: bright outlines on dark flat regions."""
    return _fixed([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])


def motion_blur(size: int = 9, angle: float = 0.0) -> np.ndarray:
    """A line of length `size` through the centre at `angle` degrees (0 = horizontal, counter-clockwise), sum 1.

    Cells are weighted by how close their centre lies to the line (anti-aliased), so every angle works.
    """
    size = _check_size(size)
    if not (isinstance(angle, (int, float, np.floating)) and math.isfinite(angle)):
        raise ValueError(f"motion blur angle must be a finite number of degrees, got angle={angle!r}")
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size] - c
    theta = math.radians(float(angle))
    dx, dy = math.cos(theta), -math.sin(theta)  # image rows grow downwards
    along = x * dx + y * dy
    across = np.abs(-x * dy + y * dx)
    k = np.clip(1.0 - across, 0.0, None) * (np.abs(along) <= c + 1e-9)
    return k / k.sum()


def bilinear_upsampling(factor: int = 2) -> np.ndarray:
    """The ConvTranspose2d kernel that upsamples by `factor` with bilinear interpolation (FCN's initialisation).

    Size 2*factor - factor % 2; use it with stride=factor and padding=bilinear_padding(factor).
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"bilinear upsampling factor must be a positive int, got factor={factor!r}")
    size = _check_size(2 * int(factor) - int(factor) % 2, "size (2*factor - factor%2)")
    centre = factor - 1 if size % 2 == 1 else factor - 0.5
    t = 1.0 - np.abs(np.arange(size) - centre) / factor
    return np.outer(t, t)


def bilinear_padding(factor: int) -> int:
    """The ConvTranspose2d padding that makes the bilinear kernel's output exactly factor * input size."""
    size = 2 * factor - factor % 2
    return (size - factor) // 2


@dataclass(frozen=True)
class Preset:
    """A named kernel: how to build it and which options it takes (size, sigma, amount, angle, factor)."""

    name: str
    build: Callable[..., np.ndarray]
    options: tuple[str, ...]
    description: str
    transposed: bool = False  # meant for ConvTranspose2d (bilinear upsampling)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("identity", identity, ("size",), "A single 1 in the centre: output = input (a sanity check)."),
        Preset("box blur", box_blur, ("size",), "Average of a size x size window."),
        Preset("gaussian", gaussian, ("size", "sigma"), "Weighted average, heavier in the centre; smoother than a box."),
        Preset("sharpen", sharpen, (), "5 x centre minus the 4 neighbours: boosts local contrast."),
        Preset("unsharp mask", unsharp_mask, ("size", "sigma", "amount"),
               "identity + amount x (identity - gaussian): adds back the detail a blur removes."),
        Preset("sobel x", sobel_x, (), "Horizontal gradient: positive where the image gets brighter to the right."),
        Preset("sobel y", sobel_y, (), "Vertical gradient: positive where the image gets brighter downwards."),
        Preset("prewitt x", prewitt_x, (), "Horizontal gradient without Sobel's centre weighting."),
        Preset("prewitt y", prewitt_y, (), "Vertical gradient without Sobel's centre weighting."),
        Preset("scharr x", scharr_x, (), "Horizontal gradient with better rotational symmetry than Sobel."),
        Preset("scharr y", scharr_y, (), "Vertical gradient with better rotational symmetry than Sobel."),
        Preset("laplacian", laplacian, (), "Second derivative: zero on flat and linear regions, signed at edges."),
        Preset("emboss", emboss, (), "A diagonal gradient plus the centre: a relief effect."),
        Preset("outline", outline, (), "8 x centre minus the 8 neighbours: edges on black."),
        Preset("motion blur", motion_blur, ("size", "angle"), "Average along a line: a camera moving at an angle."),
        Preset("bilinear upsampling", bilinear_upsampling, ("factor",),
               "For ConvTranspose2d with stride = factor: upsamples without checkerboard artifacts.", transposed=True),
    )
}


def make_kernel(name: str, **options) -> np.ndarray:
    """Build a preset by name with only the options it takes (extra options are ignored)."""
    try:
        preset = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown kernel preset {name!r}; choose one of {list(PRESETS)}") from None
    return preset.build(**{k: v for k, v in options.items() if k in preset.options})


class KernelParseError(ValueError):
    """Custom kernel text that cannot be read; the message says where and why."""


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _number(token: str, row: int, col: int) -> float:
    """A decimal number or a fraction a/b; never eval."""
    parts = token.split("/")
    if len(parts) > 2 or not all(_NUMBER.match(p) for p in parts):
        raise KernelParseError(
            f"row {row}, value {col}: {token!r} is not a number (use decimals like -1, 0.25, 1e-3 or fractions like 1/9)"
        )
    value = float(parts[0])
    if len(parts) == 2:
        denominator = float(parts[1])
        if denominator == 0:
            raise KernelParseError(f"row {row}, value {col}: {token!r} divides by zero")
        value /= denominator
    if not math.isfinite(value):
        raise KernelParseError(f"row {row}, value {col}: {token!r} is too large to be a finite number")
    return value


def parse_kernel(text: str, max_size: int = MAX_KERNEL_SIZE) -> np.ndarray:
    """Read a kernel from text: rows separated by ';' or new lines, values by spaces or commas.

    Also accepts numpy/PyTorch-style nesting such as [[1, 2, 1], [0, 0, 0], [-1, -2, -1]] and fractions (1/16).
    Returns a float64 (rows, columns) array; raises KernelParseError with the row and value at fault.
    """
    if not isinstance(text, str):
        raise KernelParseError(f"kernel text must be a string, got {type(text).__name__}")
    body = text.strip()
    if "[" in body or "]" in body:
        if body.count("[") != body.count("]"):
            raise KernelParseError(f"unbalanced brackets: {body.count('[')} '[' but {body.count(']')} ']'")
        body = re.sub(r"\]\s*,?\s*\[", ";", body).replace("[", " ").replace("]", " ")
    rows = [r for r in re.split(r"[;\n]", body) if r.strip()]
    if not rows:
        raise KernelParseError("the kernel is empty: type numbers such as 1 2 1; 0 0 0; -1 -2 -1")
    values = []
    for i, row in enumerate(rows, start=1):
        tokens = [t for t in re.split(r"[\s,]+", row.strip()) if t]
        values.append([_number(t, i, j) for j, t in enumerate(tokens, start=1)])
    widths = [len(r) for r in values]
    if len(set(widths)) > 1:
        bad = next(i for i, w in enumerate(widths) if w != widths[0])
        raise KernelParseError(
            f"every row needs the same number of values: row 1 has {widths[0]}, row {bad + 1} has {widths[bad]}"
        )
    if len(values) > max_size or widths[0] > max_size:
        raise KernelParseError(
            f"the kernel is {len(values)}x{widths[0]}; the largest allowed is {max_size}x{max_size}"
        )
    return np.array(values, dtype=np.float64)


def format_kernel(kernel: np.ndarray) -> str:
    """The text form parse_kernel reads back: one row per line, each value as the shortest text that gives the
    same float32 (the engine's dtype in the lab), so a preset copied into a custom kernel computes the same result."""
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2:
        raise ValueError(f"a kernel is 2-D (rows, columns), got shape {k.shape}")

    def fmt(v: float) -> str:
        s = str(np.float32(v))
        s = s[:-2] if s.endswith(".0") else s
        return "0" if s == "-0" else s

    return "\n".join(" ".join(fmt(v) for v in row) for row in k)


# Channel modes: how one 2-D kernel becomes the 4-D weight of a layer on an image.
CHANNEL_MODES = {
    "grayscale": "1 channel in, 1 out: the image is converted to luminance first",
    "per channel": "depthwise: groups=3, each of R, G, B filtered on its own with the same kernel",
    "full mixing": "3 in, 3 out, groups=1: weight[o, i] = matrix[o, i] x kernel, so every tap mixes the channels",
}

CHANNEL_MATRICES = {
    "identity": np.eye(3),
    "grayscale (luma)": np.tile([[0.299, 0.587, 0.114]], (3, 1)),
    "sepia": np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]),
    "swap red and blue": np.eye(3)[::-1].copy(),
    "invert (use bias 255)": -np.eye(3),
    "red only": np.diag([1.0, 0.0, 0.0]),
}


def channel_weight(kernel: np.ndarray, mode: str, matrix: np.ndarray | None = None,
                   transposed: bool = False) -> tuple[np.ndarray, int]:
    """The (weight, groups) of a layer applying `kernel` to an image in channel `mode`.

    Conv2d weights are (C_out, C_in/groups, kH, kW); ConvTranspose2d weights are (C_in, C_out/groups, kH, kW), so the
    mixing matrix is transposed there to keep `output o = sum_i matrix[o, i] * (kernel applied to input i)`.
    """
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2:
        raise ValueError(f"a kernel is 2-D (rows, columns), got shape {k.shape}")
    if mode == "grayscale":
        return k[None, None].copy(), 1
    if mode == "per channel":
        return np.broadcast_to(k, (3, 1) + k.shape).copy(), 3
    if mode == "full mixing":
        m = np.eye(3) if matrix is None else np.asarray(matrix, dtype=np.float64)
        if m.shape != (3, 3):
            raise ValueError(f"the channel matrix must be 3x3 (out x in), got shape {m.shape}")
        if not np.all(np.isfinite(m)):
            raise ValueError("the channel matrix must hold finite numbers")
        if transposed:
            m = m.T
        return m[:, :, None, None] * k[None, None], 1
    raise ValueError(f"unknown channel mode {mode!r}; choose one of {list(CHANNEL_MODES)}")
