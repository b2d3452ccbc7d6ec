"""Presentation mode and "Share with the class" (convcore/ui/present.py) through AppTest, and the figures built for
a projector (convcore.viz with larger Fonts): the explanatory text goes, the settings stay, the QR code decodes
back to the page's link."""
import io
import json
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
import segno
import zxingcpp
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from convcore.teaching.trace import trace_conv2d, trace_conv_transpose2d
from convcore.ui import gallery, present
from convcore.ui.values import named_values
from convcore.viz import conv2d_figure, scatter_figure, zero_insertion_figure
from convcore.viz import palette as P

C2 = "pages/lessons/conv2d.py"
CT = "pages/lessons/conv_transpose2d.py"
TEXT_OF_THE_LESSON = "The kernel slides over the padded input"


def texts(at) -> str:
    """Every title, caption and markdown of the page (main area and sidebar) as one string."""
    return "\n".join(e.value for kind in ("title", "caption", "markdown", "latex") for e in at.get(kind))


def decode_qr(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode, found
    return found[0].text


@pytest.fixture
def stored_images(monkeypatch) -> list[bytes]:
    """The bytes of every PNG of 200 px or more (not the app's icon) that st.image stores during an AppTest run
    (AppTest's media storage gives the page only mock URLs)."""
    seen = []
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes) and mimetype == "image/png":
            if Image.open(io.BytesIO(path_or_data)).size[0] >= 200:
                seen.append(path_or_data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return seen


def test_present_hides_the_explanations_and_keeps_every_setting(app_test):
    link = {"present": "1", "c2_k_h": "5", "c2_s_h": "2", "c2_x": "ramp", "c2_step": "3"}
    at = app_test(C2, link)
    assert not at.exception
    shown = texts(at)
    assert not at.title and TEXT_OF_THE_LESSON not in shown
    assert "Output size" not in shown and not any("nn.Conv2d(" in c.value for c in at.code)  # shape and code panels
    assert "its arithmetic is in the figure" in shown
    # the sidebar still runs (CSS hides it in the browser), so the bound settings stay in the URL
    assert at.number_input(key="c2_k_h").value == 5 and at.number_input(key="c2_s_h").value == 2
    assert at.selectbox(key="c2_x").value == "ramp"
    assert {k: at.query_params[k][-1] for k in ("present", "c2_step")} == {"present": "1", "c2_step": "3"}
    # the figure is built for the projector: 18 px values instead of 14
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    sizes = {t["textfont"]["size"] for t in spec["data"] if t.get("mode") == "markers+text"}
    assert sizes == {present.SCREENS["1280x720"].fonts.value} and min(sizes) >= 18

    at.button(key="c2_present_exit").click().run()  # leaving the mode: everything is back, with the same settings
    assert not at.exception
    assert at.title[0].value == "Conv2d" and TEXT_OF_THE_LESSON in texts(at)
    assert "present" not in at.query_params
    assert at.number_input(key="c2_k_h").value == 5 and at.selectbox(key="c2_x").value == "ramp"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {t["textfont"]["size"] for t in spec["data"] if t.get("mode") == "markers+text"} == {P.VALUE_FONT}

    at.button(key="c2_present").click().run()
    assert not at.exception and not at.title and at.query_params["present"][-1] == "1"


def test_the_projector_size_is_kept_in_the_url_and_sizes_the_figure(app_test):
    at = app_test(C2, {"present": "1", "screen": "1920x1080"})
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    big = present.SCREENS["1920x1080"]
    assert spec["layout"]["width"] <= big.width - big.SIDES
    assert spec["layout"]["height"] <= big.height - big.AROUND - big.STEP_ROW
    assert spec["layout"]["width"] > 1280  # uses the larger screen, not the default
    at.segmented_control(key="c2_present_screen").set_value("1280x720").run()
    assert not at.exception and "screen" not in at.query_params  # the default is left out of the link
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["width"] <= 1280 - big.SIDES

    bad = app_test(C2, {"present": "1", "screen": "800x600"})  # an unknown screen: the default one
    assert not bad.exception and "screen" not in bad.query_params


def test_present_on_the_transposed_lesson_keeps_its_tab_and_settings(app_test):
    at = app_test(CT, {"present": "1", "ct_view": "Scatter", "ct_in_h": "4"})
    assert not at.exception
    assert not at.title and "Three ways to the same numbers" not in texts(at)
    assert at.number_input(key="ct_in_h").value == 4
    meta = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["meta"]
    assert meta["view"] == "scatter"


def test_present_survives_a_page_switch_in_the_session(app_test):
    at = app_test(C2, {"present": "1"})
    at.switch_page(CT).run()
    assert not at.exception and not at.title and at.query_params["present"][-1] == "1"


def open_share(at, prefix: str):
    """The "Share with the class" popover open (as a click on it), for the next run."""
    at.session_state[f"{prefix}_share"] = True
    return at


def test_the_share_popover_makes_its_qr_code_only_when_opened(app_test, stored_images):
    at = app_test(C2, {"c2_k_h": "5"})  # closed: changing a setting does not pay for a new link's QR code (~8 ms)
    assert not at.exception and not stored_images and not [c for c in at.code if c.language == "plaintext"]
    open_share(at, "c2").run()
    assert not at.exception and len(stored_images) == 1
    assert decode_qr(stored_images[0]) == [c.value for c in at.code if c.language == "plaintext"][0]


def test_the_qr_code_decodes_to_the_link_with_every_setting(app_test, stored_images):
    at = app_test(C2, {"c2_k_h": "5", "c2_pmode": "reflect", "c2_step": "4"}, run=False)
    at.context = {"url": "http://lecture-hall.example:8501/conv2d"}
    open_share(at, "c2").run()
    assert not at.exception and len(stored_images) == 1
    link = decode_qr(stored_images[0])
    shown = [c.value for c in at.code if c.language == "plaintext"]
    assert shown == [link] and not at.warning  # the copyable link is the QR code's; nothing to warn about
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://lecture-hall.example:8501/conv2d"
    assert dict(parse_qsl(parts.query)) == {"c2_k_h": "5", "c2_pmode": "reflect", "c2_step": "4"}
    # a second session opening that link shows the same configuration and step
    again = app_test(C2, dict(parse_qsl(parts.query)))
    assert again.number_input(key="c2_k_h").value == 5 and again.query_params["c2_step"][-1] == "4"


def test_the_qr_code_in_presentation_mode_leaves_the_mode_out(app_test, stored_images):
    at = app_test(CT, {"present": "1", "screen": "1920x1080", "ct_s_h": "3"}, run=False)
    at.context = {"url": "http://10.0.0.5:8501/conv_transpose2d"}
    open_share(at, "ct").run()
    assert not at.exception
    assert decode_qr(stored_images[-1]) == "http://10.0.0.5:8501/conv_transpose2d?ct_s_h=3"


def test_without_the_browser_url_the_configured_base_is_used(app_test, stored_images, monkeypatch):
    monkeypatch.setenv(present.PUBLIC_URL_ENV, "https://studio.school.example/")
    at = open_share(app_test(C2, {"c2_k_w": "2"}, run=False), "c2").run()
    assert decode_qr(stored_images[-1]) == "https://studio.school.example/conv2d?c2_k_w=2"


def test_a_teachers_browser_on_localhost_shares_the_network_address(app_test, stored_images, monkeypatch):
    """`streamlit run app.py` listens on every interface, but the teacher opens http://localhost:8501: the QR code
    must carry an address the class's phones can open, and say so."""
    monkeypatch.setattr(present, "network_address", lambda: "10.1.2.3")
    at = app_test(C2, {"c2_k_h": "4"}, run=False)
    at.context = {"url": "http://localhost:8501/conv2d"}
    open_share(at, "c2").run()
    assert not at.exception
    assert decode_qr(stored_images[-1]) == "http://10.1.2.3:8501/conv2d?c2_k_h=4"
    assert [c.value for c in at.code if c.language == "plaintext"] == ["http://10.1.2.3:8501/conv2d?c2_k_h=4"]
    said = " ".join(c.value for c in at.caption)
    assert "localhost" in said and "10.1.2.3" in said and "same network" in said and not at.warning


def test_a_public_url_replaces_localhost_in_the_shared_link(monkeypatch):
    monkeypatch.setenv(present.PUBLIC_URL_ENV, "http://192.0.2.10:8080/")  # deploy.serve --host 0.0.0.0 sets it
    assert present.reachable("http://127.0.0.1:8080/conv2d")[0] == "http://192.0.2.10:8080/conv2d"
    monkeypatch.setenv(present.PUBLIC_URL_ENV, "https://studio.school.example/class")
    link, note, students_can_open = present.reachable("http://localhost:8501/padding")
    assert link == "https://studio.school.example/class/padding" and "studio.school.example" in note
    assert students_can_open


def test_a_link_no_student_can_open_says_how_to_serve_the_class(monkeypatch):
    """A server on loopback only (deploy.serve's default, or no network): the link stays, and the note says so."""
    monkeypatch.delenv(present.PUBLIC_URL_ENV, raising=False)
    monkeypatch.setattr(present, "network_address", lambda: None)
    link, note, students_can_open = present.reachable("http://localhost:8501/conv2d")
    assert link == "http://localhost:8501/conv2d" and "only on this computer" in note and "--host 0.0.0.0" in note
    assert not students_can_open
    monkeypatch.setattr(present, "network_address", lambda: "10.1.2.3")
    # the browser's port is not this server's (a balancer, a tunnel): which address would reach it is unknown
    assert present.reachable("http://localhost:8080/conv2d")[0] == "http://localhost:8080/conv2d"


def test_a_link_no_student_can_open_gets_no_qr_code(app_test, stored_images, monkeypatch):
    """A QR code of http://127.0.0.1:8501/... fails on every phone in the room: the popover says why instead."""
    monkeypatch.setattr(present, "network_address", lambda: None)
    at = app_test(C2, {"c2_k_h": "4"}, run=False)
    at.context = {"url": "http://127.0.0.1:8501/conv2d"}
    open_share(at, "c2").run()
    assert not at.exception and not stored_images
    assert "only on this computer" in at.warning[0].value and "deploy.serve --host 0.0.0.0" in at.warning[0].value
    assert [c.value for c in at.code if c.language == "plaintext"] == ["http://127.0.0.1:8501/conv2d?c2_k_h=4"]


@pytest.mark.parametrize("url", ["http://lecture-hall.example:8501/conv2d", "http://10.0.0.5:8501/conv2d",
                                 "https://studio.school.example/conv2d"])
def test_a_link_students_can_open_is_shared_as_it_is(url):
    assert present.reachable(url) == (url, None, True)


def test_loopback_addresses_are_recognised():
    assert all(map(present.is_loopback, ["localhost", "127.0.0.1", "127.1.2.3", "::1", "0.0.0.0", "app.localhost"]))
    assert not any(map(present.is_loopback, ["10.0.0.5", "lecture-hall.example", "192.0.2.2", "", None]))


def test_a_link_too_long_for_a_qr_code_says_so_and_keeps_the_link(app_test):
    at = open_share(app_test(C2, {"c2_note": "x" * 3000}, run=False), "c2").run()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "more than a QR code holds" in warning and "3" in warning
    assert not at.get("image") and any("x" * 3000 in c.value for c in at.code)


def test_qr_png_is_a_scannable_size_with_a_quiet_zone():
    url = "http://127.0.0.1:8501/conv2d?c2_k_h=5&c2_step=3"
    png = present.qr_png(url, 340)  # presentation mode's size
    img = Image.open(io.BytesIO(png))
    qr = segno.make(url, error="m")
    modules = qr.symbol_size(border=4)[0]
    assert img.size[0] == img.size[1] and img.size[0] % modules == 0 and 300 <= img.size[0] <= 340
    assert img.size[0] // modules >= 8  # whole pixels a module, >= 8: over 2 cm a module on a 2 m high projection
    grey = np.asarray(img.convert("L"))
    quiet = 4 * img.size[0] // modules
    assert grey[:quiet].min() == 255 and grey[:, :quiet].min() == 255  # the 4-module white border
    assert decode_qr(png) == url
    with pytest.raises(segno.DataOverflowError):
        present.qr_png("http://x/?" + "a" * 3000)


# --- figures for a projector --------------------------------------------------------------------------------------

def _trace_5x5():
    x = named_values("small integers", (1, 1, 5, 5))
    w = named_values("small integers", (1, 1, 3, 3), kind="weight")
    return trace_conv2d(x, w, None, (1, 1), (1, 1), (1, 1), 1, "zeros", out_channel=0)


def _value_fonts(fig) -> set[int]:
    return {t.textfont.size for t in fig.data if t.mode == "markers+text"}


@pytest.mark.parametrize("name", list(present.SCREENS))
def test_projector_figures_fit_their_screen_with_values_shown_in_larger_type(name):
    screen = present.SCREENS[name]
    size = screen.figure_size()
    fig = conv2d_figure(_trace_5x5(), 0, **size)
    layout = fig.layout
    assert layout.width <= size["max_width"] and layout.height <= size["max_height"]
    assert _value_fonts(fig) == {screen.fonts.value} and screen.fonts.value >= 18
    cells = [t for t in fig.data if t.mode == "markers+text" and t.customdata and t.customdata[0][0] == "input"]
    assert all(t.text and all(cells[0].text) for t in cells)  # every value is printed (it fits its cell)
    cell = cells[0].marker.size + 2
    assert all(P.text_fits([s], cell, screen.fonts.value) for s in cells[0].text)
    default = conv2d_figure(_trace_5x5(), 0, max_width=820, max_height=430)
    assert fig.data[0].marker.size > default.data[0].marker.size  # the cells grew with the type
    # the controls grew too: the buttons' font and the room for them
    assert layout.updatemenus[0].font.size == screen.fonts.label
    assert layout.margin.b == screen.fonts.px(96) > default.layout.margin.b


def test_default_fonts_leave_the_figures_as_they_were():
    trace = _trace_5x5()
    default = conv2d_figure(trace, 2, max_width=820, max_height=430)
    same = conv2d_figure(trace, 2, max_width=820, max_height=430, fonts=P.FONTS)
    assert default.to_plotly_json() == same.to_plotly_json()
    assert _value_fonts(default) == {P.VALUE_FONT} and default.layout.margin.b == 96


def test_transposed_views_take_the_projector_fonts():
    x = named_values("small integers", (1, 1, 3, 3))
    w = named_values("small integers", (1, 1, 3, 3), kind="weight")
    tt = trace_conv_transpose2d(x, w, None, (2, 2), (1, 1), (0, 0), 1, (1, 1), out_channel=0)
    screen = present.SCREENS["1280x720"]
    for fig in (zero_insertion_figure(tt, 0, **screen.figure_size()), scatter_figure(tt, 0, **screen.figure_size())):
        assert fig.layout.height <= screen.figure_size()["max_height"]
        assert fig.layout.width <= screen.figure_size()["max_width"]
        assert _value_fonts(fig) == {screen.fonts.value}
        arithmetic = [t for t in fig.data if t.name == "arithmetic"]
        assert arithmetic and arithmetic[0].textfont.size == screen.fonts.equation


# --- the gallery ---------------------------------------------------------------------------------------------------

GALLERY = "pages/gallery/gallery.py"


def test_the_gallery_presents_one_figure_of_a_pair_at_the_projectors_size(app_test):
    at = app_test(GALLERY, {"present": "1", "gal_figure": "Padding, strides"})
    assert not at.exception
    assert not at.title and "Dumoulin" not in texts(at)  # no intro, notes or downloads on the slide
    assert not at.get("download_button")
    charts = at.get("plotly_chart")
    assert len(charts) == 1  # one of the pair fills the screen
    spec = json.loads(charts[0].proto.spec)
    screen = present.SCREENS["1280x720"]
    assert spec["layout"]["meta"]["op"] == "conv2d"
    assert spec["layout"]["height"] <= screen.figure_size(gallery.PRESENT_ABOVE, step_buttons=False)["max_height"]
    assert {t["textfont"]["size"] for t in spec["data"] if t.get("mode") == "markers+text"} == {screen.fonts.value}
    assert any("nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=1, bias=False)" in m.value for m in at.markdown)

    at.segmented_control(key="gal_side").set_value("ConvTranspose2d").run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["meta"]["op"] == "conv_transpose2d"
    assert any("nn.ConvTranspose2d(" in m.value for m in at.markdown)

    at.button(key="gal_present_exit").click().run()  # back: both figures of the pair, the notes, the downloads
    assert not at.exception and at.title and len(at.get("plotly_chart")) == 2 and at.get("download_button")
