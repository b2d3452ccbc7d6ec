"""Pillow in and out for the image lab: safe decoding, modes, EXIF orientation, size limits, display copies, export.

Decoding never trusts the upload: the pixel count is checked from the header before any pixel is decoded
(decompression bombs), only raster formats are opened, and every failure becomes an ImageLoadError whose message
a page can show as it is. Arrays handed to the engine are float32 (C, H, W) in 0..255.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

__all__ = [
    "FORMATS",
    "UPLOAD_TYPES",
    "MAX_UPLOAD_MB",
    "MAX_PIXELS",
    "MAX_OUTPUT_PIXELS",
    "DISPLAY_MAX_SIDE",
    "DISPLAY_MODES",
    "ImageLoadError",
    "LoadedImage",
    "load_image",
    "load_path",
    "to_channels",
    "fit_within",
    "display_copy",
    "centre_crop",
    "range_for",
    "display_range",
    "to_uint8",
    "diverging_rgb",
    "png_bytes",
    "npy_bytes",
    "check_output_size",
]

FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")  # JPEG includes multi-picture (MPO) phone photos
UPLOAD_TYPES = ("png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff")
MAX_UPLOAD_MB = 50
MAX_PIXELS = 25_000_000  # decoded pixels per image: ~ a 24-megapixel photo; refuses decompression bombs
MAX_OUTPUT_PIXELS = 25_000_000  # output pixels per channel (a float32 RGB result of 300 MB)
DISPLAY_MAX_SIDE = 512  # the browser gets copies at most this many pixels on their long side
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as Pillow's convert("L")

DISPLAY_MODES = {
    "clip": "clip to 0..255 (values below 0 are black, above 255 white)",
    "absolute": "absolute value, clipped to 0..255 (edges of both signs look alike)",
    "min-max": "stretch the smallest value to black and the largest to white",
    "diverging": "a diverging colour map with zero in the middle (blue negative, red positive)",
}


class ImageLoadError(ValueError):
    """An upload that cannot be used as an image; the message is meant for the user."""


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: pixels (H, W, C) with C = 1 (grayscale source) or 3 (colour), uint8 or float32 in 0..255."""

    pixels: np.ndarray
    format: str
    mode: str  # the source's Pillow mode, before conversion
    notes: tuple[str, ...] = ()

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def channels(self) -> int:
        return self.pixels.shape[2]


def _megapixels(n: int) -> str:
    return f"{n / 1e6:.1f} megapixels"


def _sniff(data: bytes) -> str | None:
    """A specific message for common non-raster uploads, before Pillow guesses."""
    head = data[:2048].lstrip().lower()
    if b"<svg" in head or (head.startswith(b"<?xml") and b"svg" in head):
        return "This is an SVG (a vector drawing), not a pixel image. Export it as PNG first and upload that."
    if head.startswith((b"<!doctype html", b"<html")):
        return "This is an HTML page, not an image. Upload a PNG, JPEG, WebP, BMP, GIF or TIFF file."
    if head.startswith(b"%pdf"):
        return "This is a PDF document, not an image. Export the page as PNG first."
    return None


def load_image(data: bytes, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Decode an uploaded file into a LoadedImage, or raise ImageLoadError with a message for the user."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageLoadError(f"expected the file's bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ImageLoadError("The file is empty (0 bytes). Choose another file.")
    sniffed = _sniff(data)
    if sniffed:
        raise ImageLoadError(sniffed)
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:  # Pillow's own limit (far above ours) refuses it while opening
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        size = _megapixels(int(pixels.group(1))) if pixels else "too many pixels"
        raise ImageLoadError(
            f"The image claims {size}; the lab decodes at most {_megapixels(max_pixels)} (a guard against "
            "decompression bombs)."
        ) from None
    except Exception:  # Pillow raises many types for unreadable data; the user needs one plain message
        raise ImageLoadError(
            f"This file ({len(data):,} bytes) is not an image the lab can read. "
            f"Supported formats: {', '.join(FORMATS)}."
        ) from None
    with im:
        width, height = im.size
        if width * height > max_pixels:
            raise ImageLoadError(
                f"The image is {width} x {height} = {_megapixels(width * height)}; the lab decodes at most "
                f"{_megapixels(max_pixels)} (a guard against decompression bombs). Downscale it and upload again."
            )
        if width == 0 or height == 0:
            raise ImageLoadError(f"The image has no pixels ({width} x {height}).")
        try:
            return _decode(im)
        except ImageLoadError:
            raise
        except MemoryError:
            raise ImageLoadError("The server ran out of memory decoding this image. Try a smaller one.") from None
        except Exception as exc:  # truncated or corrupt data surfaces only when pixels are decoded
            raise ImageLoadError(
                f"The {im.format} file could not be decoded: it looks truncated or damaged ({exc})."
            ) from None


def load_path(path) -> LoadedImage:
    """load_image on a file on disk (the bundled samples)."""
    with open(path, "rb") as f:
        return load_image(f.read())


def _decode(im: Image.Image) -> LoadedImage:
    """Pixels of the first frame, upright, as (H, W, 1 or 3), with notes about every conversion made."""
    notes: list[str] = []
    fmt, source_mode = im.format or "image", im.mode
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        kind = "animated" if fmt in ("GIF", "WEBP", "PNG") else "multi-page"
        notes.append(f"This {kind} {fmt} has {frames} frames; the lab uses the first one.")
        im.seek(0)
    im.load()
    orientation = im.getexif().get(0x0112, 1)
    if orientation not in (1, None):
        im = ImageOps.exif_transpose(im)
        notes.append(f"Rotated/flipped upright as its EXIF orientation tag ({orientation}) asks.")
    pixels = _pixels(im, notes)
    pixels.setflags(write=False)  # shared through caches: nobody may change it
    return LoadedImage(pixels, fmt, source_mode, tuple(notes))


def _pixels(im: Image.Image, notes: list[str]) -> np.ndarray:
    mode = im.mode
    if mode == "P" or mode == "PA":
        im = im.convert("RGBA" if ("transparency" in im.info or mode == "PA") else "RGB")
        mode = im.mode
    if mode in ("RGBA", "RGBa", "LA", "La"):
        return _flatten_alpha(im, notes)
    if mode in ("1", "L"):
        return np.asarray(im.convert("L"))[:, :, None]
    if mode == "RGB":
        return np.asarray(im)
    if mode.startswith("I") or mode == "F":
        return _high_depth(np.asarray(im), mode, notes)[:, :, None]
    if mode == "CMYK":
        notes.append("CMYK image converted to RGB (colours may differ a little from a print-profile conversion).")
    rgb = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...
    return np.asarray(rgb)


def _flatten_alpha(im: Image.Image, notes: list[str]) -> np.ndarray:
    """Composite onto white: transparent areas would otherwise hold arbitrary colours."""
    gray = im.mode in ("LA", "La")
    rgba = im.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"))
    if alpha.min() < 255:
        notes.append("Transparent pixels are shown on a white background (alpha composited onto white).")
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    if gray:
        return np.asarray(flat.convert("L"))[:, :, None]
    return np.asarray(flat)


def _high_depth(values: np.ndarray, mode: str, notes: list[str]) -> np.ndarray:
    """16-bit, 32-bit integer and float images mapped to 0..255 as float32 (fractional values kept)."""
    v = values.astype(np.float32)
    if mode == "F":
        bad = ~np.isfinite(v)
        if bad.any():
            notes.append(f"{int(bad.sum()):,} NaN/infinite pixels were set to 0.")
            v[bad] = 0.0
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
    if mode.startswith("I;16") or (mode == "I" and lo >= 0 and hi <= 65535 and hi > 255):
        notes.append("16-bit image scaled from 0..65535 to 0..255 (fractional values kept, nothing rounded).")
        return v / np.float32(257.0)
    if mode == "F" and lo >= 0 and hi <= 1:
        notes.append("Floating-point image in 0..1 scaled to 0..255.")
        return v * np.float32(255.0)
    if lo >= 0 and hi <= 255:
        if mode == "F":
            notes.append("Floating-point image kept as it is (values already in 0..255).")
        return v
    notes.append(f"{'Float' if mode == 'F' else '32-bit'} image with values {lo:g}..{hi:g} stretched to 0..255.")
    return (v - lo) * np.float32(255.0 / (hi - lo))


def to_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """(H, W, 1 or 3) pixels as a float32 (channels, H, W) array: luminance for 1, RGB for 3."""
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
        raise ValueError(f"pixels must be (H, W, 1) or (H, W, 3), got shape {pixels.shape}")
    if channels == 1:
        if pixels.shape[2] == 1:
            return pixels[:, :, 0].astype(np.float32)[None]
        return np.tensordot(LUMA, np.moveaxis(pixels, -1, 0).astype(np.float32), axes=1)[None]
    if channels == 3:
        chw = np.empty((3,) + pixels.shape[:2], np.float32)
        for c in range(3):  # per channel: avoids a strided full-size temporary
            chw[c] = pixels[:, :, min(c, pixels.shape[2] - 1)]
        return chw
    raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")


def _resize_chw(chw: np.ndarray, size: tuple[int, int], resample) -> np.ndarray:
    """Resize each channel of a float (C, H, W) array to size = (H, W) with Pillow's float ('F') images."""
    h, w = size
    out = np.empty((chw.shape[0], h, w), np.float32)
    for c in range(chw.shape[0]):
        src = Image.fromarray(np.ascontiguousarray(chw[c], dtype=np.float32), mode="F")
        out[c] = np.asarray(src.resize((w, h), resample))
    return out


def _fitted_size(h: int, w: int, max_side: int) -> tuple[int, int]:
    scale = max_side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def fit_within(pixels: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale (H, W, C) pixels so the long side is at most max_side (area-averaging); None keeps full size."""
    h, w = pixels.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return pixels
    size = _fitted_size(h, w, max_side)
    if pixels.dtype == np.uint8:
        mode = "L" if pixels.shape[2] == 1 else "RGB"
        im = Image.fromarray(pixels[:, :, 0] if mode == "L" else pixels, mode=mode)
        out = np.asarray(im.resize(size[::-1], Image.Resampling.BOX))
        return out[:, :, None] if mode == "L" else out
    return np.moveaxis(_resize_chw(np.moveaxis(pixels, -1, 0), size, Image.Resampling.BOX), 0, -1)


def display_copy(chw: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> tuple[np.ndarray, float]:
    """A float32 (C, h, w) copy for the browser with its long side <= max_side, and the scale (full-resolution
    pixels per shown pixel). Every shown pixel is an area average of the pixels it covers.

    Fast on huge arrays: an integer block mean first (numpy, no resampling), then Pillow's box filter for the rest.
    Both are linear, so display_copy(a - b) == display_copy(a) - display_copy(b) for arrays of one shape.
    """
    c, h, w = chw.shape
    if max(h, w) <= max_side:
        return np.array(chw, dtype=np.float32), 1.0
    f = max(h, w) // max_side
    out = np.asarray(chw, dtype=np.float32)
    if f > 1:
        hh, ww = max(1, h // f), max(1, w // f)
        fh, fw = min(f, h), min(f, w)  # a side shorter than f (e.g. 2000 x 1) is averaged over what there is
        rows = out[:, : hh * fh, : ww * fw].reshape(c, hh, fh, ww * fw).sum(axis=2, dtype=np.float32)
        out = rows[:, :, 0::fw].copy()  # column sums as fw strided adds: numpy is slow at short inner reductions
        for j in range(1, fw):
            out += rows[:, :, j::fw]
        out *= np.float32(1.0 / (fh * fw))
    if max(out.shape[1:]) > max_side:
        out = _resize_chw(out, _fitted_size(*out.shape[1:], max_side), Image.Resampling.BOX)
    return out, max(h, w) / max(out.shape[1:])


def centre_crop(chw: np.ndarray, centre: tuple[float, float], size: int = DISPLAY_MAX_SIDE):
    """A size x size (or smaller) window of a (C, H, W) array at 1:1, centred at fractions (y, x) of the image.

    Returns the crop and its top-left (row, column) in the full array.
    """
    h, w = chw.shape[1:]
    ch, cw = min(size, h), min(size, w)
    top = int(np.clip(round(centre[0] * h - ch / 2), 0, h - ch))
    left = int(np.clip(round(centre[1] * w - cw / 2), 0, w - cw))
    return chw[:, top : top + ch, left : left + cw], (top, left)


def range_for(mode: str, low: float, high: float, spread: float | None = None) -> tuple[float, float]:
    """The (low, high) values a display mode maps to the ends of its scale, given the data's min and max.

    diverging is symmetric about zero: +-spread when given (e.g. a high percentile of |values|, so a few extreme
    values do not wash everything else out), else +-max(|min|, |max|).
    """
    if mode in ("clip", "absolute"):
        return 0.0, 255.0
    if mode == "min-max":
        return (low, high) if high > low else (low, low + 1.0)
    if mode == "diverging":
        m = spread if spread else max(abs(low), abs(high))
        m = m or 1.0
        return -m, m
    raise ValueError(f"unknown display mode {mode!r}; choose one of {list(DISPLAY_MODES)}")


def display_range(values: np.ndarray, mode: str) -> tuple[float, float]:
    """range_for with the min and max of values (non-finite values ignored)."""
    v = np.asarray(values)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return range_for(mode, 0.0, 0.0)
    return range_for(mode, float(finite.min()), float(finite.max()))


def to_uint8(values: np.ndarray, mode: str, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Signed float values as 8-bit grey levels by display mode; diverging puts zero at mid-grey 128.

    value_range (from display_range on the full result) keeps a display copy's scale equal to the full image's.
    """
    v = np.asarray(values, dtype=np.float32)
    if mode == "absolute":
        v = np.abs(v)
    lo, hi = value_range if value_range is not None else display_range(v, mode)
    if mode in ("clip", "absolute"):
        out = v
    elif mode in ("min-max", "diverging"):
        out = (v - lo) * np.float32(255.0 / (hi - lo))
    else:
        raise ValueError(f"unknown display mode {mode!r}; choose one of {list(DISPLAY_MODES)}")
    out = np.nan_to_num(out, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# Blue - white - red, after ColorBrewer's RdBu (colour-blind friendly), as 0..255 RGB stops for -1 .. 0 .. 1.
_DIVERGING = np.array(
    [[33, 102, 172], [103, 169, 207], [209, 229, 240], [247, 247, 247], [253, 219, 199], [239, 138, 98], [178, 24, 43]],
    dtype=np.float32,
)
DIVERGING_COLORSCALE = [[i / (len(_DIVERGING) - 1), f"rgb({r:.0f},{g:.0f},{b:.0f})"] for i, (r, g, b) in enumerate(_DIVERGING)]


def _diverging_lut(steps: int = 256) -> np.ndarray:
    """steps + 1 RGB colours from -1 to 1 (an even count of steps puts zero exactly on the middle entry)."""
    t = np.linspace(0, len(_DIVERGING) - 1, steps + 1)
    i = np.minimum(t.astype(np.int64), len(_DIVERGING) - 2)
    f = (t - i)[:, None]
    return np.rint(_DIVERGING[i] * (1 - f) + _DIVERGING[i + 1] * f).astype(np.uint8)


_DIVERGING_LUT = _diverging_lut()


def diverging_rgb(values: np.ndarray, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """One channel of signed values (H, W) as an RGB uint8 image, zero white, negatives blue, positives red."""
    v = np.asarray(values, dtype=np.float32)
    lo, hi = value_range if value_range is not None else display_range(v, "diverging")
    steps = len(_DIVERGING_LUT) - 1
    t = np.nan_to_num((v - np.float32(lo)) * np.float32(steps / (hi - lo)), nan=steps / 2)
    return _DIVERGING_LUT[np.clip(np.rint(t), 0, steps).astype(np.intp)]


def png_bytes(chw: np.ndarray, mode: str, value_range: tuple[float, float] | None = None) -> bytes:
    """The result as a PNG as the display mode shows it: grey for 1 channel (diverging: the colour map), RGB for 3.

    3-channel diverging output is stored per channel with zero at mid-grey 128. value_range defaults to the data's.
    """
    values = np.asarray(chw)
    if values.ndim != 3 or values.shape[0] not in (1, 3):
        raise ValueError(f"expected a (1 or 3, H, W) array, got shape {values.shape}")
    if value_range is None:
        value_range = display_range(values, mode)
    if values.shape[0] == 1 and mode == "diverging":
        im = Image.fromarray(diverging_rgb(values[0], value_range), mode="RGB")
    elif values.shape[0] == 1:
        im = Image.fromarray(to_uint8(values[0], mode, value_range), mode="L")
    else:
        im = Image.fromarray(np.moveaxis(to_uint8(values, mode, value_range), 0, -1), mode="RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)  # fast: these are generated on click
    return buf.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    """The raw float result in NumPy's .npy format (np.load reads it back exactly)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def check_output_size(shape: tuple[int, ...], max_pixels: int = MAX_OUTPUT_PIXELS) -> None:
    """Refuse empty or oversized outputs with a message that gives the numbers."""
    h, w = shape[-2:]
    if h <= 0 or w <= 0:
        raise ValueError(f"this configuration gives an empty output ({h} x {w}): nothing to show")
    if h * w > max_pixels:
        raise ValueError(
            f"the output would be {h} x {w} = {_megapixels(h * w)} per channel; the lab computes at most "
            f"{_megapixels(max_pixels)}. Use a smaller working size or a smaller stride."
        )
