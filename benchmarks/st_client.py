"""A Streamlit session without a browser: Streamlit 1.67's own websocket protocol, as its frontend speaks it.

    session = StreamlitSession("http://127.0.0.1:8501", "conv2d", "c2_k_h=5")
    run = await session.open()                    # GET the shared link (cookies), connect, the first script run
    run = await session.click("c2_step_next")      # a button: trigger value, sent as a fragment run if it is in one
    run = await session.set_value("c2_k_w", 5)     # a number_input / radio / selectbox / toggle by its key
    run = await session.upload("lab_upload", "photo.jpg", data, "image/jpeg")
    await session.close()

Protocol (streamlit/web/server/starlette/starlette_websocket.py, streamlit/proto/*): the client connects to
/_stcore/stream (subprotocol "streamlit", then the XSRF token from the `_streamlit_xsrf` cookie that
/_stcore/health sets) and sends
BackMsg.rerun_script with the URL's query string, the page (its name on the first run, its script hash after) and
the widget states; the server answers with ForwardMsg deltas (elements and their widget ids `$$ID-<hash>-<key>`),
page_info_changed (the URL's new query string) and finally script_finished. A widget inside an st.fragment carries
its fragment id in its delta: changing it reruns only that fragment, as the browser does. Uploads ask for a URL
(file_urls_request), PUT the file there (multipart, X-Xsrftoken header), then rerun with the file's info.

Widget states sent: every value this session has set (the browser sends every widget's value; a keyed widget left
out keeps its previous value on the server, so the runs are the same). Large elements the server marks cacheable
are remembered by hash and listed in cached_message_hashes, as the browser's message cache does.
"""
from __future__ import annotations

import asyncio
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED = ForwardMsg.ScriptFinishedStatus
DONE = {FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
XSRF_COOKIE = "_streamlit_xsrf"


class ProtocolError(RuntimeError):
    """The server did not answer as Streamlit's frontend expects (closed, timed out, refused an upload)."""


@dataclass
class Widget:
    """A keyed widget as the last run drew it: its id, proto kind ("button", "number_input", ...) and fragment."""

    key: str
    id: str
    kind: str
    proto: object
    fragment_id: str = ""


@dataclass
class Run:
    """One script run seen from the client: from the BackMsg sent to its script_finished."""

    seconds: float
    status: int
    fragment: bool
    exceptions: list[str] = field(default_factory=list)
    markdown: list[str] = field(default_factory=list)
    received_bytes: int = 0
    messages: int = 0

    @property
    def ok(self) -> bool:
        return self.status in DONE and not self.exceptions


def _widget_key(element_id: str) -> str | None:
    """The user key in a keyed widget's id `$$ID-<hash>-<key>` (None for an unkeyed one)."""
    parts = element_id.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[2] != "None" else None


class StreamlitSession:
    """One browser tab's worth of Streamlit session, driven from Python (one request at a time)."""

    def __init__(self, base_url: str, url_path: str = "", query: str = "", timeout: float = 60):
        self.base_url = base_url.rstrip("/")
        self.url_path = url_path
        self.query = query
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.widgets: dict[str, Widget] = {}
        self.values: dict[str, tuple[str, object]] = {}  # widget id -> (WidgetState field, value) sent every run
        self.cached: dict[str, ForwardMsg] = {}  # hash -> a cacheable message, as the browser's message cache
        self.page_hash = ""
        self.session_id = ""
        self._ws = None

    # --- connecting -------------------------------------------------------------------------------------------

    async def open(self) -> Run:
        """Load the shared link as a browser would (cookies: the balancer's route, XSRF), connect, run the page."""
        await asyncio.to_thread(self._get_page)
        ws_url = self.base_url.replace("http", "ws", 1) + "/_stcore/stream"
        token = self.cookies.get(XSRF_COOKIE, "")
        self._ws = await websockets.connect(
            ws_url, subprotocols=["streamlit", token] if token else ["streamlit"], max_size=None,
            additional_headers={"Cookie": self._cookie_header(), "Origin": self.base_url},
            open_timeout=self.timeout, ping_interval=None)
        return await self._rerun(page_name=self.url_path)

    def _get_page(self) -> None:
        """The page, then /_stcore/health as the frontend does before connecting (it sets the XSRF cookie)."""
        page = f"{self.base_url}/{self.url_path}" + (f"?{self.query}" if self.query else "")
        for url in (page, f"{self.base_url}/_stcore/health"):
            request = urllib.request.Request(url, headers={"Cookie": self._cookie_header()})
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
                self._keep_cookies(response.headers.get_all("Set-Cookie") or [])

    def _keep_cookies(self, headers: list[str]) -> None:
        for header in headers:  # by hand: the XSRF value holds '|', which http.cookies refuses
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    # --- interacting ------------------------------------------------------------------------------------------

    def widget(self, key: str) -> Widget:
        try:
            return self.widgets[key]
        except KeyError:
            raise ProtocolError(f"no widget with key {key!r} in the last run (have: {sorted(self.widgets)})") from None

    async def click(self, key: str) -> Run:
        """Press a button (a trigger value for this run only)."""
        w = self.widget(key)
        if getattr(w.proto, "disabled", False):
            raise ProtocolError(f"button {key!r} is disabled")
        return await self._rerun(trigger=w.id, fragment_id=w.fragment_id)

    async def set_value(self, key: str, value) -> Run:
        """Set a number_input (number), radio / selectbox (the option's text) or toggle / checkbox (bool)."""
        w = self.widget(key)
        if w.kind == "number_input":
            self.values[w.id] = ("double_value", float(value))
        elif w.kind in ("radio", "selectbox"):
            if str(value) not in list(w.proto.options):
                raise ProtocolError(f"{key!r} has no option {value!r} (options: {list(w.proto.options)})")
            self.values[w.id] = ("string_value", str(value))
        elif w.kind == "checkbox":
            self.values[w.id] = ("bool_value", bool(value))
        else:
            raise ProtocolError(f"set_value does not know a {w.kind} widget ({key!r})")
        return await self._rerun(fragment_id=w.fragment_id)

    async def upload(self, key: str, name: str, data: bytes, mime: str) -> Run:
        """Upload a file to a file_uploader as the browser does: ask for a URL, PUT the file, rerun with its info."""
        w = self.widget(key)
        request_id = uuid.uuid4().hex
        back = BackMsg()
        back.file_urls_request.request_id = request_id
        back.file_urls_request.session_id = self.session_id
        back.file_urls_request.file_names.append(name)
        await self._ws.send(back.SerializeToString())
        urls = None
        while urls is None:
            msg = await self._receive(time.monotonic() + self.timeout)
            if msg.WhichOneof("type") == "file_urls_response" and msg.file_urls_response.response_id == request_id:
                if msg.file_urls_response.error_msg:
                    raise ProtocolError(f"file_urls_request refused: {msg.file_urls_response.error_msg}")
                urls = msg.file_urls_response.file_urls[0]
        await asyncio.to_thread(self._put_file, urls.upload_url, name, data, mime)
        state = back.rerun_script.widget_states.widgets.add()  # a scratch proto for the file info
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, name, len(data)
        info.file_urls.CopyFrom(urls)
        self.values[w.id] = ("file_uploader_state_value", state.file_uploader_state_value)
        return await self._rerun(fragment_id=w.fragment_id)

    def _put_file(self, upload_url: str, name: str, data: bytes, mime: str) -> None:
        url = upload_url if upload_url.startswith("http") else urllib.parse.urljoin(self.base_url + "/", upload_url)
        boundary = uuid.uuid4().hex
        body = b"".join([f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                         f"Content-Type: {mime}\r\n\r\n".encode(), data, f"\r\n--{boundary}--\r\n".encode()])
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": self._cookie_header(),
                   "X-Xsrftoken": self.cookies.get(XSRF_COOKIE, ""), "Origin": self.base_url}
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as err:
            raise ProtocolError(f"upload refused: HTTP {err.code} {err.read()[:200]!r}") from None

    # --- one run ----------------------------------------------------------------------------------------------

    async def _rerun(self, page_name: str = "", trigger: str = "", fragment_id: str = "") -> Run:
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash
        state.page_name = page_name
        state.fragment_id = fragment_id
        state.cached_message_hashes.extend(sorted(self.cached))
        for widget_id, (kind, value) in self.values.items():
            ws = state.widget_states.widgets.add()
            ws.id = widget_id
            if kind == "file_uploader_state_value":
                ws.file_uploader_state_value.CopyFrom(value)
            else:
                setattr(ws, kind, value)
        if trigger:
            ws = state.widget_states.widgets.add()
            ws.id, ws.trigger_value = trigger, True
        if not fragment_id:
            self.widgets.clear()  # a full run draws every widget again (ids may change with their arguments)
        start = time.perf_counter()
        await self._ws.send(back.SerializeToString())
        return await self._until_finished(start, bool(fragment_id))

    async def _until_finished(self, start: float, fragment: bool) -> Run:
        run = Run(seconds=0.0, status=-1, fragment=fragment)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = await self._receive(deadline, run)
            kind = msg.WhichOneof("type")
            if kind == "script_finished":
                run.status = msg.script_finished
                if run.status == FINISHED.FINISHED_EARLY_FOR_RERUN:
                    continue  # another run (ours, queued) follows
                run.seconds = time.perf_counter() - start
                return run
            if kind == "delta":
                self._on_delta(msg, run)
            elif kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id
            elif kind == "navigation" and msg.navigation.page_script_hash:
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query = msg.page_info_changed.query_string  # the URL follows the widgets, as in the browser
            elif kind == "page_not_found":
                run.exceptions.append(f"page not found: {msg.page_not_found.page_name}")

    async def _receive(self, deadline: float, run: Run | None = None) -> ForwardMsg:
        try:
            data = await asyncio.wait_for(self._ws.recv(), max(deadline - time.monotonic(), 0.001))
        except asyncio.TimeoutError:
            raise ProtocolError(f"no script_finished within {self.timeout} s") from None
        except websockets.ConnectionClosed as err:
            raise ProtocolError(f"the server closed the websocket ({err})") from None
        msg = ForwardMsg()
        msg.ParseFromString(data)
        if run is not None:
            run.received_bytes += len(data)
            run.messages += 1
        if msg.metadata.cacheable:
            self.cached[msg.hash] = msg
        elif msg.WhichOneof("type") == "ref_hash":  # the server sent only the hash of a message we hold
            cached = self.cached.get(msg.ref_hash)
            if cached is None:
                raise ProtocolError(f"the server referred to a message this client never received ({msg.ref_hash})")
            full = ForwardMsg()
            full.CopyFrom(cached)
            full.metadata.CopyFrom(msg.metadata)
            return full
        return msg

    def _on_delta(self, msg: ForwardMsg, run: Run) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        proto = getattr(element, kind)
        if kind == "exception":
            run.exceptions.append(f"{proto.type}: {proto.message}")
        elif kind == "markdown":
            run.markdown.append(proto.body)
        key = _widget_key(getattr(proto, "id", "") or "")
        if key is not None:
            self.widgets[key] = Widget(key, proto.id, kind, proto, delta.fragment_id)
