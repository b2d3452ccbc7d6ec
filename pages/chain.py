"""Entry for a shared link to this URL on a freshly started server: runs app.py, whose navigation shows the page.

Until a session has run app.py, Streamlit serves the files in pages/ by their names (streamlit/streamlit#9992):
a first visit to a URL without a file of that name shows a "Page not found" dialog. This file, named after a
url_path of app.py, makes that first visit run app.py like any other. The page's code is in the file app.py names.
"""
import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"))
