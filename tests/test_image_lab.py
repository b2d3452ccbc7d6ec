"""The image lab page (AppTest) and its cached pipeline, compared with torch on the same image.

Every upload is built here with Pillow. Most runs use a small working size so the suite stays quick.
"""
import base64
import io
import json
import struct
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from convcore.images import imaging
from convcore.images.kernels import PRESETS, channel_weight, format_kernel, make_kernel
from convcore.ui import lab
from convcore.ui.config import ConvConfig
from convcore.viz import images as figures

PAGE = "pages/lab/lab.py"
SMALL = {"lab_side": "64"}
RNG = np.random.default_rng(3)
PHOTO = RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8)


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def figure(at, key_word="input"):
    """The spec of the first Plotly chart whose subplot titles mention key_word."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        titles = [a.get("text", "") for a in spec["layout"].get("annotations", [])]
        if any(key_word in t for t in titles):
            return spec
    return None


def titles(spec) -> list[str]:
    return [a.get("text", "") for a in spec["layout"].get("annotations", [])]


def page_text(at) -> str:
    return "\n".join(str(e.value) for e in [*at.markdown, *at.caption, *at.info, *at.warning, *at.error])


def ok(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def upload(app_test, name: str, data: bytes, mime: str = "image/png", query=None):
    at = app_test(PAGE, {"lab_src": "upload", **(query or {})})
    at.file_uploader(key="lab_upload").set_value((name, data, mime))
    return at.run()


# ---- defaults and sources -----------------------------------------------------------------------------------------

def test_default_page_filters_a_sample_at_full_resolution(app_test):
    at = app_test(PAGE)
    ok(at)
    spec = figure(at)
    assert spec is not None and titles(spec)[:2] == ["input (3, 512, 512)", "output (3, 512, 512)"]
    text = page_text(at)
    assert "weight** `(3, 1, 7, 7)`, groups = 3" in text  # per channel = depthwise
    assert figure(at, "") is not None and len(at.get("plotly_chart")) >= 2  # the histogram too
    assert len(at.get("download_button")) == 2


def test_every_sample_loads(app_test):
    at = app_test(PAGE, SMALL)
    for name in lab.SAMPLES:
        at.selectbox(key="lab_sample").set_value(name).run()
        ok(at)
        image = imaging.load_path(lab.sample_path(name))
        assert f"{image.width} x {image.height} JPEG ({image.mode})" in page_text(at)
        assert titles(figure(at))[1].startswith("output (3, ")  # grayscale photos are replicated to 3 channels


UPLOADS = {
    "png": ("a.png", encode(Image.fromarray(PHOTO), "PNG"), "image/png", (24, 32)),
    "jpeg": ("a.jpg", encode(Image.fromarray(PHOTO), "JPEG"), "image/jpeg", (24, 32)),
    "webp": ("a.webp", encode(Image.fromarray(PHOTO), "WEBP"), "image/webp", (24, 32)),
    "bmp": ("a.bmp", encode(Image.fromarray(PHOTO), "BMP"), "image/bmp", (24, 32)),
    "gif": ("a.gif", encode(Image.fromarray(PHOTO).convert("P"), "GIF"), "image/gif", (24, 32)),
    "tiff": ("a.tif", encode(Image.fromarray(PHOTO), "TIFF"), "image/tiff", (24, 32)),
    "L": ("l.png", encode(Image.fromarray(PHOTO[:, :, 0]), "PNG"), "image/png", (24, 32)),
    "LA": ("la.png", encode(Image.fromarray(PHOTO[:, :, :2].copy(), mode="LA"), "PNG"), "image/png", (24, 32)),
    "P": ("p.png", encode(Image.fromarray(PHOTO).convert("P"), "PNG"), "image/png", (24, 32)),
    "RGBA": ("rgba.png", encode(Image.fromarray(np.dstack([PHOTO, PHOTO[:, :, 0]])), "PNG"), "image/png", (24, 32)),
    "CMYK": ("cmyk.jpg", encode(Image.fromarray(PHOTO).convert("CMYK"), "JPEG"), "image/jpeg", (24, 32)),
    "I;16": ("deep.png", encode(Image.fromarray((PHOTO[:, :, 0].astype(np.uint16) * 257)), "PNG"), "image/png",
             (24, 32)),
    "F": ("float.tif", encode(Image.fromarray(PHOTO[:, :, 0].astype(np.float32) / 255), "TIFF"), "image/tiff",
          (24, 32)),
    "1x1": ("dot.png", encode(Image.new("RGB", (1, 1), (9, 99, 199)), "PNG"), "image/png", (1, 1)),
    "2000x1": ("line.png", encode(Image.new("L", (2000, 1), 77), "PNG"), "image/png", (1, 2000)),
}


def test_uploads_of_every_kind_are_filtered(app_test):
    at = app_test(PAGE, {"lab_src": "upload"})
    for kind, (name, data, mime, (h, w)) in UPLOADS.items():
        at.file_uploader(key="lab_upload").set_value((name, data, mime)).run()
        ok(at)
        spec = figure(at)
        assert spec is not None, kind
        assert titles(spec)[:2] == [f"input (3, {h}, {w})", f"output (3, {h}, {w})"], kind  # 'same' padding


def test_animated_gif_uses_the_first_frame_and_says_so(app_test):
    frames = [Image.new("RGB", (12, 10), c) for c in [(255, 0, 0), (0, 0, 255)]]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    at = upload(app_test, "anim.gif", data, "image/gif")
    ok(at)
    assert "has 2 frames; the lab uses the first one" in page_text(at)


def test_exif_orientation_is_applied(app_test):
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.fromarray(PHOTO), "JPEG", exif=exif.tobytes())
    at = upload(app_test, "phone.jpg", data, "image/jpeg")
    ok(at)
    assert titles(figure(at))[0] == "input (3, 32, 24)"  # rotated upright: 24 x 32 becomes 32 x 24
    assert "EXIF orientation" in page_text(at)


def test_camera_photo_is_filtered(app_test):
    at = app_test(PAGE, {"lab_src": "camera", "lab_chan": "grayscale"})
    assert not at.exception and figure(at) is None
    at.camera_input(key="lab_camera").set_value(("shot.jpg", UPLOADS["jpeg"][1], "image/jpeg"))
    at.run()
    ok(at)
    assert titles(figure(at))[:2] == ["input (1, 24, 32)", "output (1, 24, 32)"]


def bomb_png(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    i = data.find(b"IHDR")
    data[i + 4 : i + 12] = struct.pack(">II", width, height)
    data[i + 17 : i + 21] = struct.pack(">I", zlib.crc32(bytes(data[i : i + 17])))
    return bytes(data)


BAD = {
    "empty": (b"", "empty"),
    "truncated": (UPLOADS["png"][1][: len(UPLOADS["png"][1]) // 2], "truncated"),
    "text": (b"just some notes\n" * 50, "not an image"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', "SVG"),
    "random": (bytes(RNG.integers(0, 256, 3000, dtype=np.uint8)), "not an image"),
    "bomb": (bomb_png(8000, 8000), "64.0 megapixels"),
}


def test_bad_uploads_show_a_plain_error_and_the_page_keeps_working(app_test):
    at = app_test(PAGE, {"lab_src": "upload", "lab_kernel": "sobel x"})
    for kind, (data, message) in BAD.items():
        at.file_uploader(key="lab_upload").set_value((f"bad.{kind}.png", data, "image/png")).run()
        assert not at.exception, kind
        assert len(at.error) == 1 and message in at.error[0].value, kind
        assert figure(at) is None
        assert at.selectbox(key="lab_kernel").value == "sobel x"  # nothing lost: the controls keep their values
        at.file_uploader(key="lab_upload").set_value(("good.png", UPLOADS["png"][1], "image/png")).run()
        ok(at)
        assert figure(at) is not None and at.selectbox(key="lab_kernel").value == "sobel x"


def test_no_upload_yet_explains_itself(app_test):
    at = app_test(PAGE, {"lab_src": "upload"})
    assert not at.exception and not at.error
    assert any("Choose an image file" in i.value for i in at.info)


def test_removing_the_file_waits_for_a_replacement_then_explains(app_test, monkeypatch):
    waits = []
    monkeypatch.setattr(lab, "await_replacement", lambda prefix, seconds=lab.REPLACEMENT_WAIT: waits.append(prefix))
    at = upload(app_test, "a.png", UPLOADS["png"][1])
    ok(at)
    assert figure(at) is not None and waits == []  # a file: no waiting
    at.file_uploader(key="lab_upload").set_value(None).run()
    assert waits == ["lab"]  # the file went: a new one may be on its way (Streamlit reruns twice on a replacement)
    assert not at.exception and any("Choose an image file" in i.value for i in at.info) and figure(at) is None
    at.run()
    assert waits == ["lab"]  # only right after a file was there
    at.file_uploader(key="lab_upload").set_value(("a.png", UPLOADS["png"][1], "image/png")).run()
    at.radio(key="lab_src").set_value("sample").run()
    at.radio(key="lab_src").set_value("upload").run()
    assert waits == ["lab"] and figure(at) is None  # the file went with the switch: nothing on its way


# ---- kernels ------------------------------------------------------------------------------------------------------

def test_every_preset(app_test):
    at = app_test(PAGE, SMALL)
    for name in PRESETS:
        at.selectbox(key="lab_kernel").set_value(name).run()
        ok(at)
        k = make_kernel(name, size=7, sigma=2.0, amount=1.0, angle=0.0, factor=2)
        assert f"weight** `(3, 1, {k.shape[0]}, {k.shape[1]})`" in page_text(at), name
        assert figure(at) is not None, name


def test_preset_options_change_the_kernel(app_test):
    at = app_test(PAGE, {**SMALL, "lab_kernel": "box blur"})
    at.slider(key="lab_ksize").set_value(11).run()
    ok(at)
    assert "weight** `(3, 1, 11, 11)`" in page_text(at)


def test_custom_kernel_from_text(app_test):
    at = app_test(PAGE, {**SMALL, "lab_kernel": "custom"})
    ok(at)
    at.text_area(key="lab_ktext").input("1 0 -1 0 1; 2 0 -2 0 2").run()
    ok(at)
    assert "weight** `(3, 1, 2, 5)`" in page_text(at)


def test_bad_custom_kernel_text_explains_itself(app_test):
    at = app_test(PAGE, {**SMALL, "lab_kernel": "custom"})
    for text, message in [("1 2; 3", "row 1 has 2, row 2 has 1"), ("1 two 3", "'two' is not a number"),
                          ("", "empty"), (";".join(["1"] * 40), "40x1; the largest allowed is 31x31")]:
        at.text_area(key="lab_ktext").input(text).run()
        assert not at.exception
        assert len(at.error) == 1 and message in at.error[0].value and at.error[0].value.startswith("Custom kernel")
        assert figure(at) is None
    at.text_area(key="lab_ktext").input("0 1 0").run()
    ok(at)
    assert figure(at) is not None  # a fixed text works again


def test_custom_kernel_cells_edit_the_kernel(app_test):
    at = app_test(PAGE, {**SMALL, "lab_kernel": "custom"})
    text = at.text_area(key="lab_ktext").value
    at.session_state[lab.kernel_editor_key("lab", text)] = {
        "edited_rows": {0: {"0": 7.5}}, "added_rows": [], "deleted_rows": []}
    at.run()
    ok(at)
    code = at.code[0].value
    assert "7.5" in code and "torch" in code  # the edited weight reaches the layer (its PyTorch code)


def test_switching_to_custom_starts_from_the_preset(app_test):
    at = app_test(PAGE, {**SMALL, "lab_kernel": "sobel y"})
    at.selectbox(key="lab_kernel").set_value("custom").run()
    ok(at)
    assert at.text_area(key="lab_ktext").value == format_kernel(make_kernel("sobel y"))


# ---- channels, display, views -------------------------------------------------------------------------------------

def test_channel_modes_show_weight_shape_and_groups(app_test):
    at = app_test(PAGE, SMALL)
    for mode, weight, groups, channels in [("grayscale", "(1, 1, 7, 7)", 1, 1), ("full mixing", "(3, 3, 7, 7)", 1, 3),
                                           ("per channel", "(3, 1, 7, 7)", 3, 3)]:
        at.selectbox(key="lab_chan").set_value(mode).run()
        ok(at)
        assert f"weight** `{weight}`, groups = {groups}" in page_text(at)
        assert titles(figure(at))[1].startswith(f"output ({channels}, ")


def test_full_mixing_matrix_presets_and_bias(app_test):
    at = app_test(PAGE, {**SMALL, "lab_chan": "full mixing", "lab_mix": "invert (use bias 255)",
                         "lab_kernel": "identity", "lab_ksize": "1", "lab_biasv": "255"})
    ok(at)
    assert "bias = 255" in page_text(at)


@pytest.mark.parametrize("channels", ["grayscale", "per channel"])
def test_every_display_mode(app_test, channels):
    at = app_test(PAGE, {**SMALL, "lab_kernel": "laplacian", "lab_chan": channels})
    for mode in imaging.DISPLAY_MODES:
        at.radio(key="lab_show").set_value(mode).run()
        ok(at)
        spec = figure(at)
        panels = titles(spec)
        if channels == "per channel" and mode == "diverging":
            assert [p[-1] for p in panels[1:]] == ["R", "G", "B"]  # one diverging panel per channel
        else:
            assert len(panels) == 2
        images = [t for t in spec["data"] if t["type"] == "image"]
        assert all(t["source"].startswith("data:image/png;base64,") for t in images)  # display copies as PNG
        heat = [t for t in spec["data"] if t["type"] == "heatmap"]
        assert heat and all(t["opacity"] == 0 for t in heat)  # the hover layers
        assert ("Diverging scale" in page_text(at)) == (mode == "diverging")


def test_clip_mode_says_how_much_it_hides(app_test):
    at = app_test(PAGE, {**SMALL, "lab_kernel": "laplacian", "lab_show": "clip"})
    ok(at)
    assert "% of output values are below 0" in page_text(at)


def test_difference_view(app_test):
    at = app_test(PAGE, {**SMALL, "lab_view": "difference"})
    ok(at)
    assert titles(figure(at, "output - input")) == ["output - input R", "output - input G", "output - input B"]
    at = app_test(PAGE, {**SMALL, "lab_view": "difference", "lab_pkind": "valid"})
    ok(at)
    assert figure(at, "output - input") is None
    assert any("needs the output to have the input's shape" in i.value for i in at.info)


def test_one_to_one_crop_shows_real_pixels(app_test):
    at = app_test(PAGE, {"lab_zoom": "1:1 crop"})
    ok(at)
    spec = figure(at)
    image = next(t for t in spec["data"] if t["type"] == "image")
    assert image["dx"] == 1
    heat = next(t for t in spec["data"] if t["type"] == "heatmap")
    assert np.asarray(heat["z"]["bdata"] if isinstance(heat["z"], dict) else heat["z"]).size > 0


def decoded(source: str) -> np.ndarray:
    """The pixels of a go.Image `source` data URI."""
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))


def test_real_pixels_travel_as_png_and_downscaled_copies_as_jpeg():
    values = RNG.uniform(-40, 300, (3, 40, 50)).astype(np.float32)
    exact = {t["type"]: t for t in figures.panels(values, "clip", (0.0, 255.0), 1, (0, 0), "out", False)[0][1]}
    assert exact["image"]["source"].startswith("data:image/png;base64,")
    assert np.array_equal(decoded(exact["image"]["source"]), np.moveaxis(imaging.to_uint8(values, "clip"), 0, -1))
    y, x = np.mgrid[0:40, 0:52]
    smooth = np.stack([4 * x + 20, 5 * y + 10, 120 + 60 * np.sin(x / 5) * np.cos(y / 7)]).astype(np.float32)  # photo-like
    scaled = {t["type"]: t for t in figures.panels(smooth, "clip", (0.0, 255.0), 7.5, (0, 0), "out", False)[0][1]}
    assert scaled["image"]["source"].startswith("data:image/jpeg;base64,")
    error = np.abs(decoded(scaled["image"]["source"]).astype(int) - np.moveaxis(np.rint(smooth), 0, -1).astype(int))
    assert error.mean() < 1.5 and error.max() <= 8  # quality 92 without chroma subsampling: close to the copy; hover has the exact values


def test_hover_layer_carries_the_values():
    values = RNG.uniform(-40, 300, (3, 20, 30)).astype(np.float32)
    heat = figures.panels(values, "min-max", (-40.0, 300.0), 1, (0, 0), "out", True)[0][1][1]
    assert heat["opacity"] == 0 and heat["zmin"] == -40 and heat["zmax"] == 300  # the colour bar's range
    assert heat["z"].dtype == np.uint8 and not heat["z"].any()  # colour: only cells; the values are in customdata
    assert np.allclose(heat["customdata"], np.moveaxis(values, 0, -1), atol=1e-3)
    gray = figures.panels(values[:1], "clip", (0.0, 255.0), 1, (0, 0), "out", True)[0][1][1]
    assert np.allclose(gray["z"], values[0], atol=1e-3) and "customdata" not in gray


def test_summary_statistics_wait_until_asked():
    out = RNG.standard_normal((3, 300, 200)).astype(np.float32) * 100
    result = lab.summarise(out)
    assert result.value_range("clip") == (0.0, 255.0) and result.value_range("absolute") == (0.0, 255.0)
    assert "histogram" not in vars(result) and "_range" not in vars(result)  # the default view needs neither
    assert result.value_range("min-max") == (float(out.min()), float(out.max())) and "histogram" not in vars(result)
    assert result.value_range("diverging")[1] == pytest.approx(np.percentile(np.abs(out), 99.5), rel=0.02)
    assert "histogram" in vars(result) and result.histogram is result.histogram  # computed once, then kept


def test_large_upload_sends_jpeg_display_copies_and_png_crops(app_test):
    y, x = np.mgrid[0:900, 0:1200]
    photo = np.stack([x * 255 // 1200, y * 255 // 900, (x + y) % 256], axis=-1).astype(np.uint8)
    at = upload(app_test, "big.jpg", encode(Image.fromarray(photo), "JPEG", quality=90), "image/jpeg")
    ok(at)
    images = [t for t in figure(at)["data"] if t["type"] == "image"]
    assert len(images) == 2 and all(t["source"].startswith("data:image/jpeg;base64,") for t in images)
    assert all(decoded(t["source"]).shape == (384, 512, 3) for t in images)  # display-sized, never 1200 x 900
    hover = [t for t in figure(at)["data"] if t["type"] == "heatmap"]
    shapes = [[int(n) for n in str(t["customdata"]["shape"]).split(",")] for t in hover]  # plotly's typed arrays
    assert len(shapes) == 2 and all(max(s[:2]) == figures.HOVER_FIT_SIDE and s[2] == 3 for s in shapes)  # block means
    at.radio(key="lab_zoom").set_value("1:1 crop").run()
    ok(at)
    images = [t for t in figure(at)["data"] if t["type"] == "image"]
    assert all(t["source"].startswith("data:image/png;base64,") for t in images)  # real pixels: lossless


# ---- layer parameters ---------------------------------------------------------------------------------------------

def test_stride_dilation_and_padding_mode(app_test):
    at = app_test(PAGE, {**SMALL, "lab_pkind": "numbers", "lab_p_h": "2", "lab_p_w": "2", "lab_s_h": "2",
                         "lab_s_w": "3", "lab_d_h": "2", "lab_pmode": "reflect", "lab_kernel": "box blur",
                         "lab_ksize": "3"})
    ok(at)
    h_out = (64 + 4 - 2 * 2 - 1) // 2 + 1
    w_out = (64 + 4 - 2 - 1) // 3 + 1
    assert titles(figure(at))[1] == f"output (3, {h_out}, {w_out})"


def test_transposed_box_blur_shows_the_checkerboard_warning(app_test):
    at = app_test(PAGE, {**SMALL, "lab_op": "ConvTranspose2d", "lab_kernel": "box blur", "lab_ksize": "3",
                         "lab_s_h": "2", "lab_s_w": "2"})
    ok(at)
    assert titles(figure(at))[1] == "output (3, 129, 129)"
    assert any("Checkerboard" in w.value for w in at.warning)


def test_bilinear_button_sets_up_a_clean_upsampling(app_test):
    at = app_test(PAGE, {**SMALL, "lab_kernel": "bilinear upsampling"})
    ok(at)
    at.button[0].click().run()
    ok(at)
    assert at.radio(key="lab_op").value == "ConvTranspose2d"
    assert titles(figure(at))[1] == "output (3, 128, 128)"
    assert not any("Checkerboard" in w.value for w in at.warning)


def test_kernel_larger_than_the_image_explains_itself(app_test):
    at = upload(app_test, "tiny.png", encode(Image.new("RGB", (5, 4)), "PNG"), query={"lab_pkind": "valid"})
    assert not at.exception
    assert len(at.error) == 1 and "larger than the padded input" in at.error[0].value
    assert any("dilated kernel spans 7 x 7 pixels" in i.value for i in at.info)
    assert figure(at) is None


def test_empty_transposed_output_explains_itself(app_test):
    at = upload(app_test, "dot.png", UPLOADS["1x1"][1], query={"lab_op": "ConvTranspose2d", "lab_kernel": "box blur",
                                                                "lab_ksize": "3", "lab_p_h": "4", "lab_p_w": "4"})
    assert not at.exception
    assert len(at.error) == 1 and "can't run on this image" in at.error[0].value
    assert figure(at) is None


def test_output_size_cap(app_test):
    big = encode(Image.new("L", (1700, 1700)), "PNG")
    at = upload(app_test, "big.png", big, query={"lab_op": "ConvTranspose2d", "lab_kernel": "identity",
                                                 "lab_s_h": "3", "lab_s_w": "3", "lab_ksize": "3"})
    assert not at.exception
    assert len(at.error) == 1 and "megapixels per channel" in at.error[0].value


# ---- the cached pipeline against torch ----------------------------------------------------------------------------

def torch_layer(cfg: ConvConfig, x: np.ndarray, w: np.ndarray, bias: float):
    """The same layer built with torch.nn, from the same image array."""
    kw = cfg.layer_kwargs()
    cls = torch.nn.ConvTranspose2d if cfg.transposed else torch.nn.Conv2d
    if cfg.transposed:
        kw.pop("padding_mode")
    m = cls(**kw)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(w))
        if m.bias is not None:
            m.bias.fill_(bias)
        return m(torch.from_numpy(np.array(x))[None]).numpy()[0]


@pytest.mark.parametrize("mode", ["grayscale", "per channel", "full mixing"])
@pytest.mark.parametrize("layer", [
    dict(padding="same"),
    dict(padding=(2, 1), stride=(2, 3), dilation=(1, 2), padding_mode="reflect"),
    dict(padding=(3, 3), padding_mode="circular"),
    dict(padding=(1, 2), padding_mode="replicate", stride=(3, 1)),
    dict(op="conv_transpose2d", stride=(2, 2), padding=(1, 0), output_padding=(1, 0)),
    dict(op="conv_transpose2d", stride=(3, 2), dilation=(2, 1), padding=(2, 2)),
])
def test_lab_pipeline_equals_torch_on_a_sample_photo(mode, layer):
    image = imaging.load_path(lab.sample_path("coffee"))
    channels = 1 if mode == "grayscale" else 3
    work = lab.working_input("test:coffee", "128", channels, image)
    kernel = make_kernel("sobel x") + make_kernel("gaussian", size=3, sigma=1.0)
    matrix = RNG.standard_normal((3, 3))
    transposed = layer.get("op") == "conv_transpose2d"
    weight, groups = channel_weight(kernel, mode, matrix, transposed=transposed)
    weight = weight.astype(np.float32)
    cfg = ConvConfig(in_channels=channels, out_channels=channels, height=work.x.shape[1], width=work.x.shape[2],
                     kernel_size=kernel.shape, groups=groups, bias=True, **layer)
    result = lab.run_layer("test:coffee", "128", channels, repr(cfg), lab.digest(weight.tobytes()), 3.5, cfg,
                           work.x, weight)
    expected = torch_layer(cfg, work.x, weight, 3.5)
    assert result.output.shape == expected.shape == cfg.output_shape()[1:]
    assert np.allclose(result.output, expected, rtol=1e-5, atol=1e-3)
    assert result.low == pytest.approx(expected.min(), abs=1e-3) and result.high == pytest.approx(expected.max(), abs=1e-3)


def test_lab_pipeline_31x31_kernel_equals_torch():
    image = imaging.load_path(lab.sample_path("astronaut"))
    work = lab.working_input("test:astronaut", "128", 3, image)
    kernel = make_kernel("gaussian", size=31, sigma=6.0)
    weight = channel_weight(kernel, "per channel")[0].astype(np.float32)
    cfg = ConvConfig(in_channels=3, out_channels=3, height=128, width=128, kernel_size=(31, 31), groups=3,
                     bias=False, padding="same")
    result = lab.run_layer("test:astronaut", "128", 3, repr(cfg), lab.digest(weight.tobytes()), 0.0, cfg, work.x,
                           weight)
    assert np.allclose(result.output, torch_layer(cfg, work.x, weight, 0.0), atol=1e-3)


def test_summary_histogram_and_display_copy():
    out = RNG.standard_normal((3, 1100, 1000)).astype(np.float32) * 100
    result = lab.summarise(out)
    assert result.scale == pytest.approx(1100 / 512) and result.display.shape == (3, 512, 465)
    hist = result.histogram
    assert hist.sampled == 550_000  # every 2nd value: at most HIST_SAMPLE per channel
    assert hist.counts.shape == (3, lab.HIST_BINS) and hist.counts.sum(axis=1).tolist() == [550_000] * 3
    small = lab.summarise(out[:, :10, :10].copy()).histogram
    assert small.sampled is None and small.counts.sum() == 300
    assert hist.below == pytest.approx(0.5, abs=0.01) and hist.above == pytest.approx(0.005, abs=0.003)
    assert hist.spread == pytest.approx(np.percentile(np.abs(out), 99.5), rel=0.02)
    assert result.output.flags.writeable is False


def test_flat_response_finds_checkerboards():
    lo, hi = lab.flat_response(np.ones((3, 3)), (2, 2), (1, 1))
    assert (lo, hi) == (1.0, 4.0)  # 1, 2 or 4 taps land on an output pixel
    lo, hi = lab.flat_response(make_kernel("bilinear upsampling", factor=2), (2, 2), (1, 1))
    assert hi - lo < 1e-12
    lo, hi = lab.flat_response(np.ones((4, 4)), (2, 2), (1, 1))
    assert lo == hi == 4.0  # kernel size divisible by the stride: even overlap
