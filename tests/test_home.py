"""AppTest of the home page and the navigation in app.py."""
import ast
from pathlib import Path

from streamlit.source_util import page_icon_and_name

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


# What an entry file pages/<url_path>.py does: run app.py (its docstring says why).
ENTRY_CODE = """
import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"))
"""


def code_without_docstring(source: str) -> str:
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return ast.dump(ast.Module(body=body, type_ignores=[]))


def test_pages_holds_the_pages_by_section_and_an_entry_file_per_url_path():
    # Until a session has run app.py, Streamlit serves the files at the top of pages/ by their names, without app.py's
    # navigation: a URL naming no file there shows a "Page not found" dialog (streamlit/streamlit#9992). So the pages
    # live in a folder per sidebar section, and the top level holds only an entry file per non-default url_path,
    # named so that Streamlit serves it at that URL, which runs app.py (the browser tests check a fresh server).
    pages = app_pages()
    entries = {p.url_path for p in pages if not p.default}
    assert {p.stem for p in (ROOT / "pages").glob("*.py")} == entries
    assert {(ROOT / p.file).resolve() for p in pages} == {f.resolve() for f in (ROOT / "pages").glob("*/*.py")}
    assert len({p.url_path for p in pages}) == len(pages) and sum(p.default for p in pages) == 1
    # a page's file is named after its URL, as its entry file is (AppTest.switch_page finds a page by its file name)
    assert all(Path(p.file).stem == p.url_path for p in pages if not p.default)
    for url_path in entries:
        entry = ROOT / "pages" / f"{url_path}.py"
        assert page_icon_and_name(entry) == ("", url_path), f"Streamlit would not serve {entry.name} at /{url_path}"
        assert code_without_docstring(entry.read_text()) == code_without_docstring(ENTRY_CODE), entry.name


def test_home_survives_unknown_query_parameters(app_test):
    at = app_test(query_params={"nonsense": "1", "c2_k_h": "abc"})
    assert not at.exception
    assert at.title[0].value == "Convolution Studio"
