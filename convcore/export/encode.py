"""Frames to files: animated GIF (Pillow) and MP4 H.264 (PyAV, whose wheels carry FFmpeg and libx264).

The MP4 is what slide software plays: H.264 in yuv420p (4:2:0, the one chroma layout PowerPoint, Keynote and
Google Slides all decode), even width and height (4:2:0 needs them), the index at the front (faststart).
"""
from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import av
import numpy as np
from PIL import Image

__all__ = ["gif_bytes", "mp4_bytes", "png_bytes", "FPS_CHOICES"]

FPS_CHOICES = (1, 2, 4, 10)  # the chart's speeds (viz.SPEEDS_MS: 1000, 500, 250, 100 ms a step)
GIF_HOLD_MS = 2000  # the GIF's last frame stays this long before it loops, so the finished output can be read

Progress = Callable[[int], None]  # called with the number of frames done


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def gif_bytes(images: Iterable[Image.Image], fps: float, colours: Iterable[tuple] = (),
              progress: Progress | None = None) -> bytes:
    """An animated GIF looping forever, one frame per image at `fps` (the last held GIF_HOLD_MS).

    One palette for all frames: the exact `colours` (the figure's own, so highlights keep their palette colour
    to the bit) and the rest chosen from the first frame (anti-aliased text edges). No dithering: flat cells.
    """
    frames = []
    palette_image = None
    for k, image in enumerate(images):
        if palette_image is None:
            palette_image = _palette(image, colours)
        frames.append(image.quantize(palette=palette_image, dither=Image.Dither.NONE))
        if progress:
            progress(k + 1)
    if not frames:
        raise ValueError("no frames to encode")
    ms = int(round(1000 / fps))
    durations = [ms] * len(frames)
    durations[-1] = max(ms, GIF_HOLD_MS)
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   optimize=False, disposal=1)
    return out.getvalue()


def _palette(image: Image.Image, colours: Iterable[tuple]) -> Image.Image:
    exact = list(dict.fromkeys(tuple(c[:3]) for c in colours))[:128]
    adaptive = image.quantize(256 - len(exact), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    rest = adaptive.getpalette()[: 3 * (256 - len(exact))]
    flat = [v for c in exact for v in c] + rest
    flat += [0] * (768 - len(flat))
    palette_image = Image.new("P", (1, 1))
    palette_image.putpalette(flat)
    return palette_image


def mp4_bytes(images: Iterable[Image.Image], fps: int, progress: Progress | None = None, crf: int = 18) -> bytes:
    """An H.264 MP4 (yuv420p, even sides: odd ones get a white column / row), one frame per image at `fps`."""
    with tempfile.TemporaryDirectory(prefix="convcore-mp4-") as folder:  # faststart rewrites the file: not a stream
        path = Path(folder) / "animation.mp4"
        _write_mp4(path, images, fps, progress, crf)
        return path.read_bytes()


def _write_mp4(path: Path, images: Iterable[Image.Image], fps: int, progress: Progress | None, crf: int) -> None:
    container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
    stream = None
    k = 0
    for k, image in enumerate(images, start=1):
        rgb = np.asarray(image.convert("RGB"))
        if stream is None:
            height, width = rgb.shape[0] + rgb.shape[0] % 2, rgb.shape[1] + rgb.shape[1] % 2
            stream = container.add_stream("libx264", rate=int(fps))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            # flat colours and sharp text: a still-image tune, quality-based rate; high profile plays everywhere
            stream.options = {"crf": str(crf), "preset": "veryfast", "tune": "stillimage", "profile": "high"}
        if rgb.shape[:2] != (stream.height, stream.width):
            padded = np.full((stream.height, stream.width, 3), 255, np.uint8)
            padded[: rgb.shape[0], : rgb.shape[1]] = rgb
            rgb = padded
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
        if progress:
            progress(k)
    if stream is None:
        container.close()
        raise ValueError("no frames to encode")
    for packet in stream.encode():
        container.mux(packet)
    container.close()
