"""Presentation mode, the keyboard and "Share with the class": a lesson run from a projector.

- `?present=1`: the sidebar is hidden by CSS (its widgets still run, so every setting stays bound in the URL and is
  back on leaving the mode), the page leaves out its explanatory text, and the figure is built for the projector
  (`?screen=1920x1080`, default 1280x720) with larger fonts, filling the screen without scrolling. Both values live
  in the session (the link's on its first run) and are written back to the URL, so they survive page switches.
- The keyboard, on every page with an animated figure: space presses the figure's Play or Pause (or the server-side
  Play toggle of a figure without browser frames); ← → Home End are the lessons' step buttons' st.button shortcuts,
  and on a page without step buttons (figure_keys=True: the gallery) they move the figure's own slider.
- Share with the class: the page's link with every setting as a QR code, made on the server by segno (pure Python,
  offline), large enough to scan from a projected slide, and the link itself with a copy button.

    presenting = present.page_header(P, "Conv2d", "The kernel slides ...")   # title + caption, or the bar
    ...                                                                    # lesson.setup / animated_view
    if not presenting:
        ui.shape_panel(cfg)
"""
from __future__ import annotations

import io
import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import segno
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ..viz import palette as P
from .url_state import set_url_value

PARAM, SCREEN_PARAM = "present", "screen"  # the URL's keys (app-wide: no page prefix)
_ON, _SCREEN = "_present_on", "_present_screen"  # session_state: the mode and the projector, across pages
PRIVATE = (PARAM, SCREEN_PARAM)  # left out of the shared link: the class opens the lesson, not the slide show
# The app's address for students: used when the browser's is unknown (AppTest, scripts) or is this computer's own
# (localhost); deploy.serve sets it for its replicas when it serves the classroom network.
PUBLIC_URL_ENV = "CONVSTUDIO_PUBLIC_URL"


@dataclass(frozen=True)
class Screen:
    """A projector's size in CSS pixels, and the room the page leaves the figure on it."""

    name: str
    width: int
    height: int

    # Page pixels around the figure (measured in Chromium): the side padding; the bar above it, the gaps and the
    # top and bottom padding; the row of step buttons under it. Streamlit's controls keep their size on any screen.
    SIDES = 48
    AROUND = 94
    STEP_ROW = 56

    @property
    def fonts(self) -> P.Fonts:
        """14 px values become 18 px at 1280x720 (readable from the back of a room), 27 px at 1920x1080."""
        return P.FONTS.scaled(1.3 * self.width / 1280)

    def figure_size(self, reserved: int = 0, step_buttons: bool = True) -> dict:
        """Keyword arguments for the figure builders: the largest figure that fits (`reserved`: page pixels the
        page itself adds above the figure, e.g. tabs; step_buttons: the lessons' row of them under it)."""
        around = self.AROUND + self.STEP_ROW * step_buttons + reserved
        return {"max_width": self.width - self.SIDES, "max_height": self.height - around, "fonts": self.fonts}


SCREENS = {s.name: s for s in (Screen("1280x720", 1280, 720), Screen("1920x1080", 1920, 1080))}
DEFAULT_SCREEN = "1280x720"


# --- the mode: session state, read from the link on the first run, written back to the URL ------------------------

def active() -> bool:
    """Whether presentation mode is on (`?present=1`)."""
    ss = st.session_state
    if _ON not in ss:
        ss[_ON] = st.query_params.get(PARAM, "").lower() in ("1", "true")
        raw = st.query_params.get(SCREEN_PARAM)
        ss[_SCREEN] = raw if raw in SCREENS else DEFAULT_SCREEN
    set_url_value(PARAM, 1 if ss[_ON] else None)
    set_url_value(SCREEN_PARAM, ss[_SCREEN] if ss[_ON] else None, DEFAULT_SCREEN)
    return bool(ss[_ON])


def screen() -> Screen | None:
    """The projector the figure is built for, or None outside presentation mode."""
    return SCREENS[st.session_state[_SCREEN]] if active() else None


def _switch(on: bool) -> None:
    st.session_state[_ON] = on


def _pick_screen(key: str) -> None:
    st.session_state[_SCREEN] = st.session_state[key] or DEFAULT_SCREEN


# --- the page's top: title and caption, or the presentation bar ---------------------------------------------------

def page_header(prefix: str, title: str, caption: str, figure_keys: bool = False, figures: tuple = ()) -> bool:
    """The title and caption with Present and Share buttons beside them, or in presentation mode only a bar (Exit,
    the projector size, the figure to show when the page has several `figures`, Share); the keyboard in both
    (figure_keys: ← → Home End step the figure's own slider). Returns whether presentation mode is on."""
    presenting = active()
    if presenting:
        _presentation_style()
        if figures:
            exit_col, screen_col, figure_col, share_col = st.columns([2, 2.4, 4, 2.6], vertical_alignment="center")
            with figure_col:
                st.segmented_control("Figure", list(figures), default=figures[0], required=True,
                                     key=f"{prefix}_present_figure", bind="query-params",
                                     label_visibility="collapsed", help="The figure that fills the screen")
        else:
            exit_col, screen_col, share_col = st.columns([2, 3, 3], vertical_alignment="center")
        with exit_col:
            st.button("Exit presentation", key=f"{prefix}_present_exit", icon=":material/close_fullscreen:",
                      on_click=_switch, args=(False,), help="Back to the lesson with its settings and explanations")
        with screen_col:
            key = f"{prefix}_present_screen"
            st.session_state[key] = st.session_state[_SCREEN]  # the widget follows the session, whatever the page
            st.segmented_control("Projector", list(SCREENS), key=key, on_change=_pick_screen, args=(key,),
                                 label_visibility="collapsed", help="Build the figure for this screen size")
        with share_col:
            share_panel(prefix, qr_width=340)  # the popover is at most 70 % of a 720 px screen high
        keyboard(figure_keys)
        return True
    text_col, button_col = st.columns([5, 2], vertical_alignment="top")
    with text_col:
        st.title(title)
        st.caption(caption)
    with button_col:
        st.button("Present", key=f"{prefix}_present", icon=":material/present_to_all:", on_click=_switch,
                  args=(True,), help="Presentation mode: the figure fills a projector (1280x720 or 1920x1080), "
                                      "the sidebar and explanations are hidden; settings are kept")
        share_panel(prefix)
    keyboard(figure_keys)  # after the visible elements: an empty element first would look like a page still loading
    return False


def shown(prefix: str, figure: str) -> bool:
    """Whether a page's `figure` shows: always outside presentation mode; in it, when the bar picked it (one figure
    fills the projector at a time)."""
    return not active() or st.session_state.get(f"{prefix}_present_figure") == figure


# Hides Streamlit's header and the sidebar (its widgets still run: the bound settings stay in the URL) and trims the
# page's padding, so the figure and its controls get the whole screen.
_STYLE = """<style>
header[data-testid="stHeader"], section[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"]
  { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0.75rem 1.5rem 0.5rem 1.5rem !important; max-width: none !important; }
</style>"""


def _presentation_style() -> None:
    st.html(_STYLE)


# --- the keyboard -------------------------------------------------------------------------------------------------

# Space: the figure last clicked or touched (else the first visible one) with a Play button plays or pauses; a
# figure without frames has the server-side Play toggle instead. On a page marked data-cs-keyboard="figure", ← → Home End
# press the figure's slider where step k's tick is (as a click there would). Keys typed into inputs, and with
# modifiers, are left alone. Plotly tells whether it animates by its events (a Play pressed with the mouse too).
# Installed once per browser tab; the marker is read at each key press (it belongs to the page shown).
_KEYBOARD = """<div data-cs-keyboard="%s" hidden></div><script>
(() => {
  if (window.__csKeyboard) return;
  window.__csKeyboard = true;
  let last = null;
  document.addEventListener('pointerdown', (event) => {
    const gd = event.target.closest && event.target.closest('.js-plotly-plot');
    if (gd) last = gd;
  }, true);
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const button = (gd, label) => [...gd.querySelectorAll('.updatemenu-button')]
    .find((b) => b.textContent.includes(label));
  const watch = (gd) => {
    if (gd.__csWatched || !gd.on) return;
    gd.__csWatched = true;
    gd.on('plotly_animatingframe', () => { gd.__csPlaying = true; });
    gd.on('plotly_animated', () => { gd.__csPlaying = false; });
    gd.on('plotly_animationinterrupted', () => { gd.__csPlaying = false; });
  };
  const press = (el) => ['mousedown', 'mouseup', 'click'].forEach((type) =>
    el.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, view: window})));
  const onScreen = (el) => { const r = el.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; };
  const target = () => {
    const figures = [...document.querySelectorAll('.js-plotly-plot')].filter((gd) => visible(gd) && button(gd, 'Play'));
    figures.forEach(watch);
    return figures.includes(last) ? last : (figures.find(onScreen) || figures[0]);
  };
  const moveSlider = (gd, key) => {
    const group = gd.querySelector('.slider-group');
    const opts = group && group.__data__;  // the slider's state as Plotly draws it (the layout follows a frame later)
    const ticks = gd.querySelectorAll('.slider-group .slider-tick-rect');
    const rail = gd.querySelector('.slider-group .slider-rail-touch-rect');
    if (!opts || !rail || ticks.length < 2) return false;
    const now = opts.active || 0, end = ticks.length - 1;
    const k = {ArrowLeft: now - 1, ArrowRight: now + 1, Home: 0, End: end}[key];
    const tick = ticks[Math.max(0, Math.min(end, k))].getBoundingClientRect();
    const at = {bubbles: true, cancelable: true, view: window, clientX: tick.x + tick.width / 2,
                clientY: rail.getBoundingClientRect().y + rail.getBoundingClientRect().height / 2};
    if (gd.__csPlaying) press(button(gd, 'Pause'));
    const target = Math.max(0, Math.min(end, k));
    if (target !== now) stepping(gd, opts.steps[target].args[0][0]);
    rail.dispatchEvent(new MouseEvent('mousedown', at));
    gd.dispatchEvent(new MouseEvent('mouseup', at));
    gd.__csPlaying = false;
    return true;
  };
  // A slider press runs its command (an immediate animate to the step's frame) on a later animation frame; a Play
  // pressed before that frame is shown and its animation has ended would be cut off by it. gd.__csStep is the
  // pending step: it settles on the plotly_animated that follows the step's own frame (or when a newer step
  // replaces it); a backstop lets the keys go on should the figure be redrawn before its command ran.
  const stepping = (gd, frame) => {
    const pending = new Promise((resolve) => {
      let shown = false;
      const onFrame = (e) => { if (e && String(e.name) === String(frame)) shown = true; };
      const finish = () => {
        gd.removeListener('plotly_animatingframe', onFrame);
        gd.removeListener('plotly_animated', onEnd);
        clearTimeout(backstop);
        if (gd.__csStep === pending) gd.__csStep = null;
        resolve();
      };
      const onEnd = () => { if (shown || gd.__csStep !== pending) finish(); };
      const backstop = setTimeout(finish, 5000);
      gd.on('plotly_animatingframe', onFrame);
      gd.on('plotly_animated', onEnd);
    });
    gd.__csStep = pending;
  };
  // Waits for every pending step (steps pressed while waiting too), then acts: in a promise callback, so after
  // Plotly's animation loop has finished the step (plotly_animated is emitted before the loop stops).
  const settled = (gd) => gd.__csStep ? gd.__csStep.then(() => settled(gd)) : Promise.resolve();
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const marker = document.querySelector('[data-cs-keyboard]');
    if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) {
      const gd = marker && marker.dataset.csKeyboard === 'figure' && target();
      if (gd && moveSlider(gd, event.key)) event.preventDefault();
      return;
    }
    if (event.key !== ' ') return;
    const gd = target();
    if (gd) {
      event.preventDefault();
      // in key order, each once the steps pressed before it have been shown (see stepping)
      gd.__csKeys = (gd.__csKeys || Promise.resolve()).then(() => settled(gd)).then(() => {
        const label = gd.__csPlaying ? 'Pause' : 'Play';
        gd.__csPlaying = !gd.__csPlaying;  // now: a second space before Plotly's first frame event pauses
        const pressed = button(gd, label);
        if (pressed) press(pressed);
      }).catch(() => {});  // a failed press must not stop the keys that follow
      return;
    }
    const toggle = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stCheckbox"]')]
      .find((t) => visible(t) && t.textContent.trim() === 'Play');
    const input = toggle && toggle.querySelector('input');
    if (input && !input.disabled) { event.preventDefault(); input.click(); }
  }, true);
})();
</script>"""


def keyboard(figure_keys: bool = False) -> None:
    """Space plays and pauses the page's animated figure; ← → Home End are the step buttons' shortcuts, or with
    figure_keys (a page without step buttons) they step the figure's slider."""
    st.html(_KEYBOARD % ("figure" if figure_keys else "buttons"), unsafe_allow_javascript=True)


# --- share with the class -----------------------------------------------------------------------------------------

def share_url() -> tuple[str, str | None, bool]:
    """This page's address for the class with every setting in the URL (presentation mode left out), a note when
    it is not the browser's own address or no student could open it, and whether students can (see reachable)."""
    browser = st.context.url
    base, note, students_can_open = reachable(browser) if browser else (_fallback_base(), None, True)
    query = [(k, v) for k in st.query_params if k not in PRIVATE for v in st.query_params.get_all(k)]
    return base + ("?" + urlencode(query) if query else ""), note, students_can_open


def is_loopback(host: str | None) -> bool:
    """localhost, 127.x.x.x, ::1 (and 0.0.0.0): an address every device takes for itself."""
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def network_address() -> str | None:
    """This computer's IPv4 address on its network: the interface its default route leaves by (a UDP socket is
    connected, no packet is sent); None without a network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if is_loopback(address) else address


def reachable(url: str) -> tuple[str, str | None, bool]:
    """(link, note, students can open it): `url`, or, when it names this computer only (a teacher's browser on
    localhost), the same page at an address students' devices can open: CONVSTUDIO_PUBLIC_URL's, or this computer's
    network address when this server itself listens on every interface at that port. The note says which, or that
    none is known (then the link is `url` and no student can open it)."""
    parts = urlsplit(url)
    if not is_loopback(parts.hostname):
        return url, None, True
    root = urlsplit(os.environ.get(PUBLIC_URL_ENV, "").rstrip("/"))
    if root.netloc and not is_loopback(root.hostname):
        moved = urlunsplit(parts._replace(scheme=root.scheme, netloc=root.netloc, path=root.path + parts.path))
        return moved, f"The link uses {root.netloc}: {parts.netloc} opens only on this computer.", True
    ip = network_address()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    listening_everywhere = (st.get_option("server.address") or "") in ("", "0.0.0.0", "::")
    if ip and listening_everywhere and port == st.get_option("server.port"):
        return urlunsplit(parts._replace(netloc=f"{ip}:{port}")), (
            f"The link uses this computer's network address, {ip} (phones on the same network): "
            f"{parts.hostname} opens only here."), True
    return url, (f"This page's address ({parts.netloc}) opens only on this computer: no student's device can open "
                 f"it, so there is no QR code. Serve the class with `python -m deploy.serve --host 0.0.0.0` and open "
                 f"the address it prints."), False


def _fallback_base() -> str:
    """Without a browser (AppTest) the app's address comes from CONVSTUDIO_PUBLIC_URL, plus this page's path (from
    Streamlit's page registry: no public API names the running page's url_path)."""
    root = os.environ.get(PUBLIC_URL_ENV, "http://localhost:8501").rstrip("/")
    ctx = get_script_run_ctx()
    if ctx is None:
        return root
    manager = ctx.pages_manager
    path = manager.get_pages().get(manager.current_page_script_hash, {}).get("url_pathname", "")
    return f"{root}/{path}" if path else root


@st.cache_data(show_spinner=False, max_entries=256)
def qr_png(url: str, pixels: int = 300) -> bytes:
    """A QR code of url as PNG at most `pixels` wide (a whole number of pixels a module: shown at its own size, never
    resampled into blurred edges), with the standard 4-module quiet zone (segno, offline).

    Error correction M (15 % of the symbol may be unreadable: glare on a projected slide), raised by segno when the
    link still fits the same size. Raises segno's DataOverflowError past what a QR code holds."""
    qr = segno.make(url, error="m", micro=False)
    modules = qr.symbol_size(border=4)[0]
    out = io.BytesIO()
    qr.save(out, kind="png", scale=max(2, pixels // modules), border=4)
    return out.getvalue()


def share_panel(prefix: str, qr_width: int = 300) -> None:
    """A "Share with the class" popover: the link as a QR code and as text with a copy button."""
    # opening it reruns the page, so the link has what changed since the page last ran (a step in a fragment); its
    # content is made only while it is open: a new link's QR code costs ~8 ms, on every change of a setting otherwise
    popover = st.popover("Share with the class", icon=":material/qr_code_2:", key=f"{prefix}_share", on_change="rerun")
    with popover:
        if not popover.open:
            return
        url, note, students_can_open = share_url()
        if not students_can_open:  # a QR code of it would only fail on every phone in the room
            st.warning(note, icon=":material/wifi_off:")
            st.code(url, language=None, wrap_lines=True)
            return
        try:
            png = qr_png(url, qr_width)
        except segno.DataOverflowError:
            st.warning(f"This link is {len(url)} characters long, more than a QR code holds (about 2300 for "
                       f"this kind): copy it below, or reset edited values to shorten it.", icon=":material/link:")
        else:
            st.image(png, output_format="PNG", caption="Scan to open this lesson with these settings",
                     alt="QR code of this page's link")
        st.code(url, language=None, wrap_lines=True)
        if note:  # the link is not the address bar's: say why
            st.caption(note)
