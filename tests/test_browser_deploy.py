"""Two replicas behind nginx in headless Chromium: an image uploads through the balancer (the upload reaches the
session's replica: no "Invalid session_id"), and killing the replica a student is on loses nothing: the page
reconnects to the live replica, an interaction there keeps every other setting, and reloading its URL restores the
same settings and step. A teacher on 127.0.0.1 shares the classroom address as a QR code."""
from __future__ import annotations

import io
import time

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from convcore.ui.present import PUBLIC_URL_ENV

from browser import EXCEPTION, VIEWPORT, open_app_page, wait_for_idle
from deploy_fixtures import cluster_fixture
from deploy_pages import LESSON_LINKS, widget_values

pytestmark = pytest.mark.browser

APP = "[data-testid='stApp']"
CHART = ".js-plotly-plot .main-svg"


@pytest.fixture
def cluster():
    yield from cluster_fixture()


@pytest.fixture
def cluster_without_restarts():
    """The killed replica stays dead, so that the reload below surely lands on the other one."""
    yield from cluster_fixture(restart=False)


@pytest.fixture
def context(chromium):
    """A fresh browser (own cookies, empty cache): a new student."""
    ctx = chromium.new_context(viewport=VIEWPORT)
    yield ctx
    ctx.close()


def open_on_cluster(page, cluster, link: str) -> str:
    """Open a link through the balancer; returns the replica (X-Replica) that served the page."""
    path, _, query = link.partition("?")
    response = page.goto(f"{cluster.url}/{link}", wait_until="domcontentloaded", timeout=60_000)
    open_app_page(page, cluster.url, path, query)  # same URL again, now cached: waits until it settles
    page.wait_for_selector(CHART, timeout=60_000)
    wait_for_idle(page)
    return response.headers["x-replica"]


def photo_file(tmp_path):
    y, x = np.mgrid[0:60, 0:90]
    path = tmp_path / "photo.png"
    Image.fromarray(np.stack([x * 2, y * 4, (x + y) % 256], axis=-1).astype(np.uint8)).save(path)
    return path


def upload_shows_the_result(page, path, tmp_path):
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
    page.get_by_text("output (3, 60, 90)").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot .imagelayer image").nth(1).wait_for(state="attached", timeout=60_000)
    wait_for_idle(page)
    text = page.locator(APP).inner_text()
    assert "Invalid session_id" not in text and "rror" not in page.locator("[data-testid='stFileUploader']").inner_text()
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(tmp_path / "lab-through-nginx.png"))


def test_an_image_uploads_through_the_balancer(cluster, context, tmp_path):
    page = context.new_page()
    open_app_page(page, cluster.url, "lab", {"lab_src": "upload"})
    assert any(c["name"] == "cs_route" for c in context.cookies())  # the balancer pinned this browser
    upload_shows_the_result(page, photo_file(tmp_path), tmp_path)


def test_an_upload_works_after_the_students_replica_died_and_came_back(cluster, context, tmp_path):
    """The student's page moved to the live replica; the restarted one must not get their upload (400 there)."""
    page = context.new_page()
    response = page.goto(f"{cluster.url}/lab?lab_src=upload", wait_until="domcontentloaded")
    open_app_page(page, cluster.url, "lab", {"lab_src": "upload"})
    replica = cluster.replica_of(response.headers["x-replica"])
    replica.proc.kill()
    page.wait_for_selector(f"{APP}:not([data-test-connection-state='CONNECTED'])", state="attached", timeout=10_000)
    page.wait_for_selector(f"{APP}[data-test-connection-state='CONNECTED']", state="attached", timeout=30_000)
    deadline = time.monotonic() + 60
    while cluster.in_rotation() != [0, 1] or replica.restarts == 0:
        assert time.monotonic() < deadline, "the killed replica was not restarted"
        time.sleep(0.2)
    upload_shows_the_result(page, photo_file(tmp_path), tmp_path)


def test_killing_a_students_replica_loses_no_setting(cluster_without_restarts, context):
    cluster = cluster_without_restarts
    page = context.new_page()
    link = LESSON_LINKS[0]  # conv2d, kernel H 5, stride W 2, step 3
    replica = cluster.replica_of(open_on_cluster(page, cluster, link))
    before = widget_values(page)
    assert before["number kernel H"] == "5" and before["number stride W"] == "2" and before["step"].startswith("step 3")

    replica.proc.kill()
    killed = time.monotonic()
    page.wait_for_selector(f"{APP}:not([data-test-connection-state='CONNECTED'])", state="attached", timeout=10_000)
    page.wait_for_selector(f"{APP}[data-test-connection-state='CONNECTED']", state="attached", timeout=30_000)
    assert time.monotonic() - killed < 15  # reconnected through nginx to the live replica
    assert widget_values(page) == before

    # The live replica has a fresh session: the next interaction reruns there with the page's widgets and URL.
    box = page.get_by_role("spinbutton", name="kernel W")
    box.fill("2")
    box.press("Enter")
    page.wait_for_function("() => location.search.includes('c2_k_w=2')", timeout=30_000)
    wait_for_idle(page)
    after_change = widget_values(page)
    assert after_change == {**before, "number kernel W": "2", "step": after_change["step"]}
    assert after_change["step"].startswith("step 3") and page.locator(EXCEPTION).count() == 0

    # Reloading the URL (on the live replica) restores the same settings and step.
    url = page.url
    response = page.goto(url, wait_until="domcontentloaded")
    assert response.headers["x-replica"] != replica.address
    wait_for_idle(page)
    page.wait_for_selector(CHART, timeout=60_000)
    wait_for_idle(page)
    assert widget_values(page) == after_change


@pytest.fixture
def cluster_for_the_class():
    """As `deploy.serve --host 0.0.0.0` runs it: the replicas know the address students open (here a documentation
    address: nothing is served there, the test only reads the QR code)."""
    yield from cluster_fixture(replica_env={PUBLIC_URL_ENV: "http://192.0.2.44:8080"})


@pytest.mark.parametrize("present", [False, True])
def test_a_teacher_on_localhost_shares_the_classroom_address(cluster_for_the_class, context, tmp_path, present):
    """The teacher opens the balancer at 127.0.0.1 on their own laptop and steps once; the QR code on screen, large
    enough for a projection, decodes to the classroom address with every setting and that step."""
    page = context.new_page()
    query = "c2_k_h=2&c2_pmode=reflect&c2_step=3" + ("&present=1" if present else "")
    open_on_cluster(page, cluster_for_the_class, f"conv2d?{query}")
    page.keyboard.press("ArrowRight")  # a step moved in the fragment after the page ran: the link must have it
    page.wait_for_function("() => new URLSearchParams(location.search).get('c2_step') === '4'", timeout=20_000)
    wait_for_idle(page)
    page.get_by_role("button", name="Share with the class").click()
    image = page.get_by_role("img", name="QR code of this page's link")
    image.wait_for(timeout=30_000)
    wait_for_idle(page)
    page.wait_for_timeout(300)
    page.screenshot(path=str(tmp_path / f"share_{'present' if present else 'lesson'}.png"))
    shot = Image.open(io.BytesIO(image.screenshot())).convert("L")  # what the class's phones see
    assert shot.size[0] >= (300 if present else 250)  # over 40 % of a 720 px projection's height when presenting
    found = [f.text for f in zxingcpp.read_barcodes(shot)]
    link = "http://192.0.2.44:8080/conv2d?c2_k_h=2&c2_pmode=reflect&c2_step=4"
    assert found == [link]
    popover = page.locator("[data-testid='stPopoverBody']")
    assert "uses 192.0.2.44:8080" in popover.inner_text()  # why the link is not the address bar's
    copy = popover.locator("[data-testid='stCode'] code").first
    assert copy.inner_text().strip() == link
    box = copy.bounding_box()  # the link and its copy button show in the popover without scrolling it
    assert box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]
    assert page.evaluate("""() => { const body = document.querySelector('[data-testid="stPopoverBody"]');
                                    return body.scrollHeight <= body.clientHeight + 1; }""")
