"""The load test's simulated students (benchmarks/st_client.py, load_test.py) against one real server: they speak
Streamlit's websocket protocol well enough that the server really reruns the lesson and the widgets really change.
A tiny version of benchmarks/load_test.py: 3 students, 2 interactions each."""
import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from browser import ROOT, start_app, stop_app

sys.path.insert(0, str(ROOT / "benchmarks"))
from load_test import Student, cpu_seconds, step_number, weight_shape  # noqa: E402
from st_client import StreamlitSession  # noqa: E402


def run_in_thread(coro):
    """asyncio.run in a thread of its own: in the whole suite, Playwright's sync API holds an event loop running in
    the main thread (the browser tests' session fixtures), where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, url = start_app("app.py", log_path=tmp_path_factory.mktemp("load") / "server.log")
    yield proc, url
    stop_app(proc)


def test_three_students_step_and_change_the_kernel_through_the_websocket(server):
    proc, url = server

    async def student(i: int):
        s = Student(url, seed=i, clock=lambda: 0.0)
        try:
            opened = await s.open()
            step = await s.interact("step")
            run, error = await s._control("c2_k_w", 2 + i)  # a different kernel width per student
            return opened, step, run, error, s.session.query
        finally:
            await s.session.close()

    async def main():
        return await asyncio.wait_for(asyncio.gather(*(student(i) for i in range(3))), 60)

    cpu0 = cpu_seconds([proc.pid])
    results = run_in_thread(main())
    assert cpu_seconds([proc.pid]) > cpu0  # the server did the work, not a cache in the client

    for i, (opened, step, run, error, query) in enumerate(results):
        assert opened.ok and step_number(opened) == 0 and weight_shape(opened) == "(1, 1, 3, 3)"
        assert not step.error and step.kind == "step"  # Student checks the page now shows step 1
        assert error == "" and run.ok and not run.fragment
        assert weight_shape(run) == f"(1, 1, 3, {2 + i})"  # the number_input's new value reached the script
        assert "c2_step=1" in query  # the step lives in the URL, per session


def test_a_step_reruns_only_the_fragment_and_the_link_opens_at_its_step(server):
    _, url = server

    async def main():
        s = StreamlitSession(url, "conv2d", "c2_step=7")
        try:
            first = await s.open()
            assert step_number(first) == 7
            full_page_messages = first.messages
            nxt = await s.click("c2_step_next")
            assert nxt.ok and nxt.fragment and step_number(nxt) == 8
            assert nxt.messages < full_page_messages / 2  # the sidebar and the panels were not sent again
            assert weight_shape(nxt) is None  # the shape line is outside the fragment
            last = await s.click("c2_step_last")
            assert step_number(last) == 24 and s.widget("c2_step_next").proto.disabled
        finally:
            await s.close()

    run_in_thread(asyncio.wait_for(main(), 60))
