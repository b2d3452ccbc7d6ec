"""AppTest of the home page and the navigation in app.py."""
from browser import app_pages


def test_home_is_the_default_page_and_links_every_other_page(app_test):
    at = app_test()
    assert not at.exception
    assert at.title[0].value == "Convolution Studio"
    linked = {link.proto.page for link in at.get("page_link")}
    others = {url_path for url_path, file in app_pages() if file != "pages/home.py"}  # a link names its url_path
    assert others, "app.py lists no pages besides home"
    assert linked == others
    text = " ".join(m.value for m in at.markdown)
    assert "Share the link" in text and "PyTorch code" in text


def test_every_page_in_app_py_runs_without_an_exception(app_test):
    at = app_test()
    for url_path, file in app_pages():
        at.switch_page(file).run()
        assert not at.exception, f"{file}: {at.exception}"
        assert at.title or at.header or at.markdown, f"{file} shows nothing"


def test_home_survives_unknown_query_parameters(app_test):
    at = app_test(query_params={"nonsense": "1", "c2_k_h": "abc"})
    assert not at.exception
    assert at.title[0].value == "Convolution Studio"
