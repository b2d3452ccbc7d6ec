"""Safe loading of every upload kind, display copies, display modes and export; every file is built here with Pillow."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from convcore.images import imaging
from convcore.images.imaging import ImageLoadError, load_image

RNG = np.random.default_rng(11)
RGB = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (a decompression bomb's header) with a valid CRC."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = data.find(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


# ---- formats and modes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP"])
def test_lossless_formats_load_exactly(fmt):
    kw = {"lossless": True} if fmt == "WEBP" else {}
    image = load_image(encode(Image.fromarray(RGB), fmt, **kw))
    assert image.format == fmt and image.mode == "RGB" and image.notes == ()
    assert np.array_equal(image.pixels, RGB)


def test_jpeg_loads_close_to_the_original():
    smooth = np.dstack([np.tile(np.linspace(0, 255, 30), (20, 1))] * 3).astype(np.uint8)
    image = load_image(encode(Image.fromarray(smooth), "JPEG", quality=95))
    assert image.format == "JPEG" and image.pixels.shape == (20, 30, 3) and image.pixels.dtype == np.uint8
    assert np.abs(image.pixels.astype(int) - smooth).max() < 10  # lossy, but the same picture


def test_gif_palette_image_becomes_rgb():
    pal = Image.fromarray(RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    image = load_image(encode(pal, "GIF"))
    assert image.format == "GIF" and image.pixels.shape == (20, 30, 3)
    assert np.array_equal(image.pixels, np.asarray(pal.convert("RGB")))


def test_grayscale_keeps_one_channel():
    gray = Image.fromarray(RGB[:, :, 0])
    image = load_image(encode(gray, "PNG"))
    assert image.pixels.shape == (20, 30, 1) and image.channels == 1
    assert np.array_equal(image.pixels[:, :, 0], RGB[:, :, 0])


def test_bilevel_image_is_0_or_255():
    image = load_image(encode(Image.fromarray(RGB[:, :, 0] > 128), "PNG"))
    assert set(np.unique(image.pixels)) <= {0, 255}


def test_rgba_is_composited_onto_white():
    rgba = np.dstack([RGB, RNG.integers(0, 256, (20, 30), dtype=np.uint8)])
    rgba[0, 0, 3] = 0
    image = load_image(encode(Image.fromarray(rgba), "PNG"))
    assert image.pixels.shape == (20, 30, 3)
    a = rgba[:, :, 3:4] / 255.0
    expected = rgba[:, :, :3] * a + 255 * (1 - a)
    assert np.abs(image.pixels - expected).max() <= 1  # Pillow rounds
    assert tuple(image.pixels[0, 0]) == (255, 255, 255)
    assert any("white" in n for n in image.notes)


def test_opaque_rgba_has_no_note():
    rgba = np.dstack([RGB, np.full((20, 30), 255, np.uint8)])
    image = load_image(encode(Image.fromarray(rgba), "PNG"))
    assert np.array_equal(image.pixels, RGB) and image.notes == ()


def test_la_keeps_one_channel_on_white():
    la = Image.merge("LA", [Image.fromarray(np.full((4, 5), 10, np.uint8)), Image.fromarray(np.zeros((4, 5), np.uint8))])
    image = load_image(encode(la, "PNG"))
    assert image.pixels.shape == (4, 5, 1) and np.all(image.pixels == 255)


def test_palette_with_transparency():
    p = Image.new("P", (6, 4), 0)
    p.putpalette([10, 20, 30] + [200, 100, 50] * 255)
    p.putpixel((1, 1), 1)
    image = load_image(encode(p, "PNG", transparency=0))
    assert tuple(image.pixels[0, 0]) == (255, 255, 255)  # transparent index -> white
    assert tuple(image.pixels[1, 1]) == (200, 100, 50)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_becomes_rgb_with_a_note(fmt):
    image = load_image(encode(Image.fromarray(RGB).convert("CMYK"), fmt))
    assert image.mode == "CMYK" and image.pixels.shape == (20, 30, 3)
    assert any("CMYK" in n for n in image.notes)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_is_scaled_to_0_255_keeping_fractions(fmt):
    values = RNG.integers(0, 65536, (8, 9), dtype=np.uint16)
    values[0, 0], values[0, 1] = 0, 65535
    image = load_image(encode(Image.fromarray(values), fmt))
    assert image.mode.startswith("I;16") and image.pixels.dtype == np.float32
    assert np.allclose(image.pixels[:, :, 0], values / 257.0, atol=1e-4)
    assert image.pixels[0, 1, 0] == pytest.approx(255.0)
    assert any("16-bit" in n for n in image.notes)


def test_float_image_in_0_1_is_scaled():
    values = RNG.random((6, 7), dtype=np.float32)
    image = load_image(encode(Image.fromarray(values), "TIFF"))
    assert image.mode == "F" and np.allclose(image.pixels[:, :, 0], values * 255)


def test_float_image_with_a_wide_range_is_stretched_and_nan_zeroed():
    values = (RNG.random((6, 7), dtype=np.float32) - 0.5) * 2000
    values[2, 3] = np.nan
    image = load_image(encode(Image.fromarray(values), "TIFF"))
    px = image.pixels[:, :, 0]
    assert np.all(np.isfinite(px)) and px.min() == pytest.approx(0) and px.max() == pytest.approx(255, abs=1e-3)
    assert any("NaN" in n for n in image.notes) and any("stretched" in n for n in image.notes)


def test_32_bit_integer_image():
    values = RNG.integers(-5000, 5000, (5, 6)).astype(np.int32)
    image = load_image(encode(Image.fromarray(values, mode="I"), "TIFF"))
    px = image.pixels[:, :, 0]
    assert px.min() == pytest.approx(0) and px.max() == pytest.approx(255, abs=1e-3)


def test_animated_gif_uses_the_first_frame_with_a_note():
    frames = [Image.new("RGB", (10, 8), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    image = load_image(data)
    assert np.all(image.pixels == (255, 0, 0))
    assert any("3 frames" in n and "first" in n for n in image.notes)


def test_multipage_tiff_uses_the_first_page():
    pages = [Image.new("L", (5, 5), v) for v in (7, 99)]
    image = load_image(encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    assert np.all(image.pixels == 7) and any("multi-page" in n for n in image.notes)


@pytest.mark.parametrize("orientation, turn", [(3, lambda a: np.rot90(a, 2)), (6, lambda a: np.rot90(a, -1)),
                                               (8, lambda a: np.rot90(a, 1)), (2, lambda a: a[:, ::-1])])
def test_exif_orientation_is_applied(orientation, turn):
    exif = Image.Exif()
    exif[0x0112] = orientation
    image = load_image(encode(Image.fromarray(RGB), "PNG", exif=exif.tobytes()))
    assert np.array_equal(image.pixels, turn(RGB))
    assert any(f"orientation tag ({orientation})" in n for n in image.notes)


def test_exif_orientation_in_jpeg():
    exif = Image.Exif()
    exif[0x0112] = 6
    image = load_image(encode(Image.new("RGB", (40, 20)), "JPEG", exif=exif.tobytes()))
    assert (image.height, image.width) == (40, 20)


@pytest.mark.parametrize("size", [(1, 1), (2000, 1), (1, 2000)])
def test_extreme_shapes_load(size):
    image = load_image(encode(Image.new("RGB", size, (1, 2, 3)), "PNG"))
    assert (image.width, image.height) == size
    assert image.pixels.flags.writeable is False  # shared through caches


# ---- bad input --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, this is text\n" * 20, "not an image"),
    (bytes(RNG.integers(0, 256, 4000, dtype=np.uint8)), "not an image"),
    (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
    (b'<svg width="10" height="10"><rect width="5" height="5"/></svg>', "SVG"),
    (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
    (b"%PDF-1.7\n%...", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "not an image"),
])
def test_non_images_get_a_plain_message(data, message):
    with pytest.raises(ImageLoadError, match=message):
        load_image(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "TIFF", "WEBP", "BMP"])
def test_truncated_files_get_a_plain_message(fmt):
    big = Image.fromarray(RNG.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    data = encode(big, fmt)
    with pytest.raises(ImageLoadError) as err:
        load_image(data[: len(data) // 2])
    assert "truncated" in str(err.value) or "not an image" in str(err.value)


def test_decompression_bomb_header_is_refused_before_decoding():
    with pytest.raises(ImageLoadError, match=r"6000 x 5000 = 30.0 megapixels.*decompression bombs"):
        load_image(png_with_size(6000, 5000))


def test_a_header_beyond_pillows_own_limit_is_refused_too():
    with pytest.raises(ImageLoadError, match=r"3000.0 megapixels.*decompression bombs"):
        load_image(png_with_size(60000, 50000))


def test_a_real_compressed_bomb_is_refused():
    data = encode(Image.new("1", (6000, 5000)), "PNG")  # 30 megapixels in a few kilobytes
    assert len(data) < 20_000
    with pytest.raises(ImageLoadError, match="30.0 megapixels"):
        load_image(data)


def test_pixel_cap_is_adjustable():
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(ImageLoadError, match="0.0 megapixels"):
        load_image(data, max_pixels=9_999)
    assert load_image(data, max_pixels=10_000).width == 100


def test_load_error_is_a_value_error():
    assert issubclass(ImageLoadError, ValueError)
    with pytest.raises(ImageLoadError, match="bytes"):
        load_image("not bytes")


def test_bundled_samples_load():
    from convcore.ui.lab import SAMPLES, sample_path

    for name in SAMPLES:
        image = imaging.load_path(sample_path(name))
        assert 256 <= max(image.width, image.height) <= 1024
        assert sample_path(name).stat().st_size < 150_000


# ---- conversion, display copies, display modes, export ---------------------------------------------------------

def test_to_channels_rgb_and_luminance():
    chw = imaging.to_channels(RGB, 3)
    assert chw.dtype == np.float32 and chw.shape == (3, 20, 30)
    assert np.array_equal(chw, np.moveaxis(RGB, -1, 0))
    gray = imaging.to_channels(RGB, 1)
    pil_gray = np.asarray(Image.fromarray(RGB).convert("L"), dtype=np.float32)
    assert gray.shape == (1, 20, 30) and np.abs(gray[0] - pil_gray).max() <= 0.51  # Pillow rounds to integers
    one = RGB[:, :, :1]
    assert np.array_equal(imaging.to_channels(one, 3), np.repeat(np.moveaxis(one, -1, 0), 3, 0))
    with pytest.raises(ValueError, match="channels"):
        imaging.to_channels(RGB, 2)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_fit_within_downscales_the_long_side(dtype):
    px = RNG.integers(0, 256, (300, 200, 3)).astype(dtype)
    small = imaging.fit_within(px, 64)
    assert small.shape == (64, 43, 3) and small.dtype == dtype
    assert abs(float(small.mean()) - float(px.mean())) < 2  # an area average keeps the mean
    assert imaging.fit_within(px, None) is px and imaging.fit_within(px, 300) is px


def test_display_copy_is_the_block_mean():
    chw = RNG.random((3, 1536, 700), dtype=np.float32)
    shown, scale = imaging.display_copy(chw, 512)
    assert scale == 3 and shown.shape == (3, 512, 233)
    expected = chw[:, :, : 233 * 3].reshape(3, 512, 3, 233, 3).mean(axis=(2, 4))
    assert np.allclose(shown, expected, atol=1e-6)
    same, one = imaging.display_copy(chw[:, :100, :100], 512)
    assert one == 1 and np.array_equal(same, chw[:, :100, :100])


@pytest.mark.parametrize("shape", [(3, 1030, 700), (1, 600, 400), (3, 3000, 4000)])
def test_display_copy_fits_and_keeps_the_mean(shape):
    chw = RNG.random(shape, dtype=np.float32)
    shown, scale = imaging.display_copy(chw, 512)
    assert max(shown.shape[1:]) == 512 and scale == pytest.approx(max(shape[1:]) / 512)
    assert abs(float(shown.mean()) - float(chw.mean())) < 1e-3
    assert np.allclose(imaging.display_copy(chw - 0.5, 512)[0], shown - 0.5, atol=1e-5)  # linear


def test_centre_crop_stays_inside():
    chw = np.arange(3 * 50 * 60, dtype=np.float32).reshape(3, 50, 60)
    crop, (top, left) = imaging.centre_crop(chw, (1.0, 0.0), 20)
    assert crop.shape == (3, 20, 20) and (top, left) == (30, 0)
    assert np.array_equal(crop, chw[:, 30:50, 0:20])
    small, origin = imaging.centre_crop(chw[:, :5, :7], (0.5, 0.5), 20)
    assert small.shape == (3, 5, 7) and origin == (0, 0)


def test_display_modes():
    v = np.array([[-300.0, -10.0, 0.0, 100.0, 400.0]], np.float32)
    assert imaging.to_uint8(v, "clip").tolist() == [[0, 0, 0, 100, 255]]
    assert imaging.to_uint8(v, "absolute").tolist() == [[255, 10, 0, 100, 255]]
    assert imaging.to_uint8(v, "min-max").tolist() == [[0, 106, 109, 146, 255]]
    assert imaging.to_uint8(v, "diverging").tolist() == [[32, 124, 128, 159, 255]]  # zero at mid-grey
    assert imaging.range_for("diverging", -3.0, 1.0) == (-3.0, 3.0)
    assert imaging.range_for("diverging", -3.0, 1.0, spread=2.0) == (-2.0, 2.0)
    assert imaging.range_for("min-max", 5.0, 5.0) == (5.0, 6.0)  # a constant image does not divide by zero
    with pytest.raises(ValueError, match="display mode"):
        imaging.range_for("rainbow", 0, 1)


def test_diverging_colours_put_zero_in_the_middle():
    rgb = imaging.diverging_rgb(np.array([[-1.0, 0.0, 1.0]]), (-1.0, 1.0))
    blue, white, red = (tuple(int(c) for c in p) for p in rgb[0])
    assert white == (247, 247, 247)
    assert blue[2] > blue[0] and red[0] > red[2]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("mode", list(imaging.DISPLAY_MODES))
def test_png_export_is_what_the_display_mode_shows(channels, mode):
    values = (RNG.standard_normal((channels, 9, 11)) * 200).astype(np.float32)
    decoded = np.asarray(Image.open(io.BytesIO(imaging.png_bytes(values, mode))))
    value_range = imaging.display_range(values, mode)
    if channels == 1 and mode == "diverging":
        assert np.array_equal(decoded, imaging.diverging_rgb(values[0], value_range))
    elif channels == 1:
        assert np.array_equal(decoded, imaging.to_uint8(values[0], mode, value_range))
    else:
        assert np.array_equal(decoded, np.moveaxis(imaging.to_uint8(values, mode, value_range), 0, -1))


def test_npy_export_round_trips_exactly():
    values = RNG.standard_normal((3, 7, 5)).astype(np.float32)
    back = np.load(io.BytesIO(imaging.npy_bytes(values)), allow_pickle=False)
    assert back.dtype == np.float32 and np.array_equal(back, values)


def test_output_size_checks():
    imaging.check_output_size((3, 10, 10))
    with pytest.raises(ValueError, match=r"empty output \(0 x 5\)"):
        imaging.check_output_size((3, 0, 5))
    with pytest.raises(ValueError, match=r"10000 x 10000 = 100.0 megapixels"):
        imaging.check_output_size((10000, 10000))
