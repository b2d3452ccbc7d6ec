"""AppTest of the home page and the navigation in app.py."""
from pathlib import Path

from browser import ROOT, app_pages


def test_home_is_the_default_page_and_links_every_other_page(app_test):
    at = app_test()
    assert not at.exception
    assert at.title[0].value == "Convolution Studio"
    linked = {link.proto.page for link in at.get("page_link")}  # a page link names its url_path
    others = {p.url_path for p in app_pages() if not p.default}
    assert others, "app.py lists no pages besides home"
    assert linked == others
    text = " ".join(m.value for m in at.markdown)
    assert "Share the link" in text and "PyTorch code" in text


def test_every_page_in_app_py_runs_without_an_exception(app_test):
    at = app_test()
    for page in app_pages():
        at.switch_page(page.file).run()
        assert not at.exception, f"{page.file}: {at.exception}"
        assert at.title or at.header or at.markdown, f"{page.file} shows nothing"


def test_every_file_in_pages_is_in_app_py_and_no_url_path_names_a_file():
    # Until a session has run app.py, Streamlit serves a URL that names a file in pages/ as an old-style page
    # without app.py's navigation and page config: a shared link to such a URL breaks on a freshly started server.
    pages = app_pages()
    files = {p.stem for p in (ROOT / "pages").glob("*.py")}
    assert {Path(p.file).stem for p in pages} == files
    assert not {p.url_path for p in pages} & files
    assert len({p.url_path for p in pages}) == len(pages) and sum(p.default for p in pages) == 1


def test_home_survives_unknown_query_parameters(app_test):
    at = app_test(query_params={"nonsense": "1", "c2_k_h": "abc"})
    assert not at.exception
    assert at.title[0].value == "Convolution Studio"
