"""Presentation mode, the keyboard and the share QR code in headless Chromium: the figure and its controls fill a
1280x720 or 1920x1080 screen without scrolling, cell values are >= 18 px at 1280x720, space plays and pauses,
Home/End/arrows step, and Share says why this loopback-only app gets no QR code. Screenshots under tmp_path."""
from urllib.parse import parse_qsl, urlsplit

import pytest

from browser import EXCEPTION, open_app_page, wait_for_idle

pytestmark = pytest.mark.browser

STEP_LABEL = ".slider-group > text.slider-label"
STEP_BUTTONS = "[data-testid='stMain'] .stButton button:has([data-testid='stIconMaterial'])"

# Everything the projector must show at once, measured in the page: the page must not scroll (Streamlit scrolls
# stMain, not the document), and the chart and every button must lie inside the viewport.
LAYOUT = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const gd = document.querySelector('.js-plotly-plot');
  const inside = (b) => b[0] >= 0 && b[1] >= 0 && b[2] <= innerWidth && b[3] <= innerHeight;
  const controls = [...gd.querySelectorAll('.updatemenu-button, .slider-group')].map(box);
  const buttons = [...document.querySelectorAll('[data-testid="stMain"] button')]
    .filter((b) => b.offsetParent !== null).map((b) => [b.innerText.replace(/\\s+/g, ' ').trim(), box(b)]);
  const values = [...gd.querySelectorAll('.scatterlayer g.textpoint text')].filter((t) => /^-?\\d/.test(t.textContent));
  const chart = box(gd.querySelector('.main-svg'));
  return {
    docScroll: document.scrollingElement.scrollHeight, mainScroll: main.scrollHeight, mainClient: main.clientHeight,
    innerWidth, innerHeight, chart, chartInside: inside(chart), controlsInside: controls.every(inside),
    nControls: controls.length, buttons: buttons.map(([t, b]) => [t, inside(b)]),
    sidebar: !!document.querySelector('section[data-testid="stSidebar"]') &&
             document.querySelector('section[data-testid="stSidebar"]').offsetParent !== null,
    // the rendered size of a cell value: its computed font size times the SVG's scale on screen
    svgScale: chart[2] - chart[0] > 0 ? (chart[2] - chart[0]) / gd.layout.width : 0,
    valueFonts: values.map((t) => parseFloat(getComputedStyle(t).fontSize)),
    valueHeights: values.map((t) => t.getBoundingClientRect().height),
  };
}"""


def open_presenting(page, app_url: str, url_path: str, query: dict) -> None:
    open_app_page(page, app_url, url_path, query)
    page.wait_for_selector(".js-plotly-plot .updatemenu-button", timeout=60_000)
    wait_for_idle(page)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()


@pytest.mark.parametrize("url_path, query", [("conv2d", {}), ("conv_transpose2d", {}),
                                             ("conv_transpose2d", {"ct_view": "Scatter"})])
@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_the_figure_and_its_controls_fill_the_projector_without_scrolling(chromium, app_url, tmp_path, width, height,
                                                                          url_path, query):
    context = chromium.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        screen = {} if width == 1280 else {"screen": f"{width}x{height}"}
        open_presenting(page, app_url, url_path, {"present": "1", **screen, **query})
        got = page.evaluate(LAYOUT)
        page.screenshot(path=str(tmp_path / f"present_{url_path}_{width}.png"))
    finally:
        context.close()
    assert got["docScroll"] <= height and got["mainScroll"] <= got["mainClient"] == height, got
    assert got["chartInside"] and got["controlsInside"] and got["nControls"] >= 3, got
    labels = [label for label, _ in got["buttons"]]
    assert all(inside for _, inside in got["buttons"]), got["buttons"]
    assert any("Home" in t for t in labels) and any("End" in t for t in labels)  # the step buttons
    assert any("Exit presentation" in t for t in labels) and any("Share with the class" in t for t in labels)
    assert not got["sidebar"]
    # the figure fills the screen: most of its width or height
    chart_w, chart_h = got["chart"][2] - got["chart"][0], got["chart"][3] - got["chart"][1]
    assert chart_w >= 0.6 * width or chart_h >= 0.7 * height, got["chart"]


def test_cell_values_are_at_least_18_px_at_1280x720(page, app_url, tmp_path):
    """The brief's case: a 5x5 input, a 3x3 kernel and padding 1 (the Conv2d lesson's defaults)."""
    open_presenting(page, app_url, "conv2d", {"present": "1", "c2_in_h": "5", "c2_in_w": "5", "c2_k_h": "3",
                                              "c2_k_w": "3", "c2_p_h": "1", "c2_p_w": "1"})
    got = page.evaluate(LAYOUT)
    page.screenshot(path=str(tmp_path / "present_fonts_1280.png"))
    assert len(got["valueFonts"]) >= 25 + 49 + 9  # input, padded input, kernel (outputs too, once computed)
    assert abs(got["svgScale"] - 1) < 0.01  # drawn at its own pixel size: no CSS scaling
    rendered = [f * got["svgScale"] for f in got["valueFonts"]]
    assert min(rendered) >= 18, sorted(set(rendered))
    assert min(got["valueHeights"]) >= 18  # the glyph boxes on screen, not only the declared size


def test_the_matrix_views_values_show_at_18_px_at_1280x720(page, app_url, tmp_path):
    """The ConvTranspose2d lesson's Matrix view with its defaults (x: 9 input pixels, C: 9 x 25): the board is limited
    by the screen's height. It had reserved a legend's row it never draws and fell to 16 px cells without values."""
    open_presenting(page, app_url, "conv_transpose2d", {"present": "1", "ct_view": "Matrix"})
    got = page.evaluate(LAYOUT)
    page.screenshot(path=str(tmp_path / "present_matrix_1280.png"))
    assert got["docScroll"] <= 720 and got["chartInside"] and got["controlsInside"], got
    c = page.evaluate("""() => { const t = document.querySelector('.js-plotly-plot').data.find((d) => d.name === 'C');
                                 return {mode: t.mode, size: t.textfont ? t.textfont.size : 0, n: t.x.length,
                                         shown: (t.text || []).filter((v) => v !== '').length}; }""")
    assert c["mode"] == "markers+text" and c["shown"] == c["n"] >= 9, c  # every non-zero entry of C has its value
    assert c["size"] * got["svgScale"] >= 18, c


def test_outside_presentation_mode_the_lesson_keeps_its_sidebar_and_text(page, app_url):
    open_presenting(page, app_url, "conv2d", {"c2_k_h": "2"})
    got = page.evaluate(LAYOUT)
    assert got["sidebar"] and max(got["valueFonts"]) == 14
    assert page.get_by_role("heading", name="Conv2d", exact=True).count() == 1
    page.get_by_role("button", name="Present").click()
    page.wait_for_selector("text=Exit presentation", timeout=20_000)
    wait_for_idle(page)
    assert "present=1" in page.url and "c2_k_h=2" in page.url
    got = page.evaluate(LAYOUT)
    assert not got["sidebar"] and min(got["valueFonts"]) >= 18
    page.get_by_role("button", name="Exit presentation").click()
    page.wait_for_selector("section[data-testid='stSidebar']", state="visible", timeout=20_000)
    wait_for_idle(page)
    assert "present" not in page.url and "c2_k_h=2" in page.url  # the settings came back with the sidebar
    assert page.get_by_role("heading", name="Conv2d", exact=True).count() == 1


def step_label(page) -> str:
    return page.locator(STEP_LABEL).first.text_content()


def paused_at(page, read) -> str:
    """The label once it stops changing: a playing figure moves 2 steps a second, so a second without a change means
    paused (the Pause press lands two animation frames after the key, later on a loaded machine)."""
    before = read()
    for _ in range(8):
        page.wait_for_timeout(1000)
        now = read()
        if now == before:
            return now
        before = now
    raise AssertionError(f"still playing after space: {before}")


def unfocus(page) -> None:
    """Keys go to the page itself, as after a click on empty space (no widget has the focus)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")


@pytest.mark.parametrize("present", [False, True])
def test_space_plays_and_pauses_the_animation(page, app_url, present):
    open_presenting(page, app_url, "conv2d", {"present": "1"} if present else {})
    assert step_label(page) == "step 0 · out[0,0]"
    unfocus(page)
    page.keyboard.press(" ")
    page.wait_for_function(f"() => document.querySelector('{STEP_LABEL}').textContent !== 'step 0 · out[0,0]'",
                           timeout=20_000)
    page.keyboard.press(" ")  # pause
    paused = paused_at(page, lambda: step_label(page))
    page.wait_for_timeout(1500)  # at 2 steps/s a playing animation would move on by 3 steps
    assert step_label(page) == paused != "step 0 · out[0,0]"
    page.keyboard.press(" ")  # plays again, from where it paused
    page.wait_for_function(f"() => document.querySelector('{STEP_LABEL}').textContent !== '{paused}'",
                           timeout=20_000)
    page.keyboard.press(" ")


def test_space_typed_into_a_box_is_left_alone(page, app_url):
    open_presenting(page, app_url, "conv2d", {})
    box = page.locator("section[data-testid='stSidebar'] input[type='number']").first
    box.click()
    page.keyboard.press(" ")
    page.wait_for_timeout(1200)
    assert step_label(page) == "step 0 · out[0,0]"


def url_step(page) -> str | None:
    return dict(parse_qsl(urlsplit(page.url).query)).get("c2_step")


def press_and_wait(page, key: str, expected: str | None) -> None:
    page.keyboard.press(key)
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('c2_step') === {expected!r}"
                           if expected is not None else
                           "() => !new URLSearchParams(location.search).has('c2_step')", timeout=20_000)
    wait_for_idle(page)


@pytest.mark.parametrize("present", [False, True])
def test_home_end_and_arrows_move_the_step(page, app_url, present):
    open_presenting(page, app_url, "conv2d", {"c2_step": "5", **({"present": "1"} if present else {})})
    unfocus(page)
    press_and_wait(page, "ArrowRight", "6")
    press_and_wait(page, "ArrowLeft", "5")
    press_and_wait(page, "End", "24")  # 5x5 output: steps 0..24
    press_and_wait(page, "Home", None)  # step 0 is the default: left out of the link
    assert step_label(page) == "step 0 · out[0,0]"


@pytest.mark.parametrize("present", [False, True])
def test_a_page_no_student_can_open_says_why_instead_of_a_qr_code(page, app_url, tmp_path, present):
    """This app listens on 127.0.0.1 only: a QR code of its address would fail on every phone in the room. The
    popover says so and how to serve the class, and still gives the link with every setting and the step moved in
    the fragment. (The QR code itself, through the balancer: tests/test_browser_deploy.py.)"""
    query = {"c2_k_h": "2", "c2_pmode": "reflect", "c2_step": "3", **({"present": "1"} if present else {})}
    open_presenting(page, app_url, "conv2d", query)
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => new URLSearchParams(location.search).get('c2_step') === '4'", timeout=20_000)
    wait_for_idle(page)
    page.get_by_role("button", name="Share with the class").click()
    popover = page.locator("[data-testid='stPopoverBody']")
    popover.get_by_text("opens only on this computer").wait_for(timeout=20_000)
    wait_for_idle(page)
    page.screenshot(path=str(tmp_path / f"share_{'present' if present else 'lesson'}.png"))
    assert "deploy.serve --host 0.0.0.0" in popover.inner_text()
    assert page.get_by_role("img", name="QR code of this page's link").count() == 0
    link = urlsplit(popover.locator("[data-testid='stCode'] code").first.inner_text().strip())
    browser = urlsplit(page.url)
    assert (link.scheme, link.netloc, link.path) == (browser.scheme, browser.netloc, browser.path)
    settings = {k: v for k, v in parse_qsl(browser.query) if k not in ("present", "screen")}
    assert dict(parse_qsl(link.query)) == settings == {**{k: v for k, v in query.items() if k != "present"},
                                                       "c2_step": "4"}


def test_space_plays_and_pauses_the_server_side_play_of_a_figure_without_frames(page, app_url):
    """ConvTranspose2d of a 12x12 input, stride 4, kernel 7: 49x49 = 2401 steps, more than a browser animation
    holds; space switches the server-side Play toggle instead of Plotly's buttons."""
    big = {"ct_in_h": "12", "ct_in_w": "12", "ct_s_h": "4", "ct_s_w": "4", "ct_k_h": "7", "ct_k_w": "7"}
    open_app_page(page, app_url, "conv_transpose2d", big)
    toggle = page.locator("[data-testid='stMain'] [data-testid='stCheckbox']").filter(has_text="Play")
    toggle.wait_for(timeout=60_000)
    assert page.locator(".js-plotly-plot .updatemenu-button").count() == 0  # no frames: no Plotly Play
    step = lambda: int(dict(parse_qsl(urlsplit(page.url).query)).get("ct_step", 0))  # noqa: E731
    unfocus(page)
    page.keyboard.press(" ")
    page.wait_for_function("() => Number(new URLSearchParams(location.search).get('ct_step')) >= 2", timeout=30_000)
    page.keyboard.press(" ")
    wait_for_idle(page)
    page.wait_for_timeout(1500)  # past a tick (PLAY_SECONDS = 1)
    stopped = step()
    page.wait_for_timeout(2500)
    # paused: the step stays (it may be one behind the last tick seen: the page's slider can send its older value
    # with the toggle's change, a race of the lesson's server-side Play, not of the keyboard)
    assert step() == stopped >= 1
    assert not toggle.locator("input").is_checked()


# --- the gallery: figures without step buttons ---------------------------------------------------------------------

GALLERY_LABELS = "() => [...document.querySelectorAll('.slider-group > text.slider-label')].map((t) => t.textContent)"


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_the_gallery_fills_the_projector_with_one_figure(chromium, app_url, tmp_path, width, height):
    context = chromium.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        screen = {} if width == 1280 else {"screen": f"{width}x{height}"}
        open_presenting(page, app_url, "gallery", {"present": "1", "gal_figure": "Padding, strides (odd)",
                                                   "gal_side": "ConvTranspose2d", **screen})
        got = page.evaluate(LAYOUT)
        page.screenshot(path=str(tmp_path / f"present_gallery_{width}.png"))
    finally:
        context.close()
    assert got["docScroll"] <= height and got["mainScroll"] <= got["mainClient"] == height, got
    assert got["chartInside"] and got["controlsInside"] and not got["sidebar"], got
    assert all(inside for _, inside in got["buttons"]), got["buttons"]
    assert page_count_ok(got) and min(got["valueFonts"]) >= 18


def page_count_ok(got) -> bool:
    return got["nControls"] >= 3 and len(got["valueFonts"]) > 0


@pytest.mark.parametrize("present", [False, True])
def test_gallery_keys_step_the_figures_own_slider_and_space_plays(page, app_url, present):
    """No step buttons here: ← → Home End press the figure's slider; space plays and pauses the figure last
    clicked (the second of the pair here), else the first on screen."""
    open_presenting(page, app_url, "gallery", {"gal_figure": "Padding, strides", **({"present": "1"} if present else {})})
    labels = lambda: page.evaluate(GALLERY_LABELS)  # noqa: E731
    figures = len(labels())
    assert figures == (1 if present else 2)
    if not present:  # pick the second figure (the 5x5 transposed output) with a click on it
        second = page.locator(".js-plotly-plot").nth(1)
        second.scroll_into_view_if_needed()
        box = second.bounding_box()
        page.mouse.click(box["x"] + box["width"] - 5, box["y"] + 5)  # an empty corner of it
    mine = figures - 1
    unfocus(page)
    for key, want in (("ArrowRight", "step 1 "), ("ArrowRight", "step 2 "), ("End", "step 24 " if not present
                      else "step 8 "), ("ArrowLeft", "step 23 " if not present else "step 7 "), ("Home", "step 0 ")):
        page.keyboard.press(key)
        try:
            page.wait_for_function(f"() => ({GALLERY_LABELS})()[{mine}].startsWith({want!r})", timeout=10_000)
        except Exception:
            raise AssertionError(f"after {key}: {labels()}, wanted {want!r} in figure {mine}") from None
    if not present:
        assert labels()[0].startswith("step 0 ")  # the other figure did not move
    # Space at once after Home (the label moves before the slider's own command has run): Play waits for the step
    # to be shown, then starts (a Play pressed earlier was cut off by the step's command)
    page.keyboard.press(" ")
    page.wait_for_function(f"() => !({GALLERY_LABELS})()[{mine}].startsWith('step 0 ')", timeout=20_000)
    page.keyboard.press(" ")
    paused = paused_at(page, lambda: labels()[mine])
    page.wait_for_timeout(1500)
    assert labels()[mine] == paused


# --- the concept pages: controls and one figure, no animation ------------------------------------------------------

# Every chart and every control of the page inside the viewport, no scrolling, and the printed values' sizes on
# screen (board cells and heatmap cells; their computed font size times the SVG's scale)
CONCEPT_LAYOUT = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const inside = (b) => b[0] >= 0 && b[1] >= 0 && b[2] <= innerWidth + 0.5 && b[3] <= innerHeight + 0.5;
  const shown = (el) => el.offsetParent !== null && el.getBoundingClientRect().height > 0;
  const charts = [...document.querySelectorAll('.js-plotly-plot')].filter(shown);
  const widgets = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]')]
    .filter((el) => shown(el) && el.querySelector('input, button, [role="radiogroup"], [data-testid="stDataFrame"]'));
  const values = charts.flatMap((gd) => {
    const scale = gd.querySelector('.main-svg').getBoundingClientRect().width / gd._fullLayout.width;
    return [...gd.querySelectorAll('.scatterlayer g.textpoint text, .heatmaplayer text')]
      .filter((t) => /^-?\\d/.test(t.textContent)).map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
  });
  return {
    docScroll: document.scrollingElement.scrollHeight, mainScroll: main.scrollHeight, mainClient: main.clientHeight,
    charts: charts.map(box), chartsInside: charts.every((gd) => inside(box(gd))),
    widgets: widgets.length, widgetsInside: widgets.every((el) => inside(box(el))),
    sidebar: !!document.querySelector('section[data-testid="stSidebar"]') &&
             document.querySelector('section[data-testid="stSidebar"]').offsetParent !== null,
    headings: [...document.querySelectorAll('[data-testid="stMain"] h1, [data-testid="stMain"] h3')].length,
    values,
  };
}"""

CONCEPTS = [("planner", {}, False), ("groups-depthwise", {}, False),
            ("groups-depthwise", {"grp_present_figure": "Separable vs full"}, False),
            ("matrix", {}, True), ("matrix", {"mat_present_figure": "C^T"}, False),
            ("matrix", {"mat_present_figure": "Gradient"}, True),
            ("checkerboards", {}, True), ("checkerboards", {"chk_present_figure": "Upsampled images"}, False),
            ("padding", {}, True), ("padding", {"pad_present_figure": "Convolution outputs"}, True)]


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_concept_pages_fill_the_projector_with_their_controls_and_one_figure(chromium, app_url, tmp_path, width,
                                                                             height):
    """Each concept page and each of its figures, at both projector sizes (one browser context per size)."""
    context = chromium.new_context(viewport={"width": width, "height": height})
    failures = []
    try:
        page = context.new_page()
        for url_path, query, has_values in CONCEPTS:
            screen = {} if width == 1280 else {"screen": f"{width}x{height}"}
            open_app_page(page, app_url, url_path, {"present": "1", **screen, **query})
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
            wait_for_idle(page)
            page.wait_for_timeout(300)  # Plotly's relayout to the column's width
            got = page.evaluate(CONCEPT_LAYOUT)
            name = f"present_{url_path}_{'-'.join(query.values()) or 'first'}_{width}".replace(" ", "_")
            page.screenshot(path=str(tmp_path / f"{name}.png"))
            problems = []
            if page.locator(EXCEPTION).count():
                problems.append("exception")
            if not (got["docScroll"] <= height and got["mainScroll"] <= got["mainClient"] == height):
                problems.append(f"scrolls: {got['mainScroll']} > {got['mainClient']}")
            if not (got["charts"] and got["chartsInside"] and got["widgets"] >= 2 and got["widgetsInside"]):
                problems.append(f"outside the screen: {got['charts']}, widgets inside {got['widgetsInside']}")
            if got["sidebar"] or got["headings"]:
                problems.append("sidebar or headings shown")
            if has_values and (not got["values"] or min(got["values"]) < (18 if width == 1280 else 27) - 0.5):
                problems.append(f"values {sorted(set(round(v) for v in got['values']))[:5]}")
            if problems:
                failures.append((url_path, query, problems))
    finally:
        context.close()
    assert not failures, failures
