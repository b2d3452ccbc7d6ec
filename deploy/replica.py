"""One replica: `streamlit run app.py` with the app's modules imported before the server starts.

    python -m deploy.replica --server.address 0.0.0.0 --server.port 8501    # deploy.cluster.replica_command()

Streamlit imports what a page uses during the first session that runs it, so without this the first student on each
new replica (a class's first minute, a restarted replica, a new pod) waits for convcore, scipy and plotly to import:
measured on the 2-core machine, that student's first run took 1.27-1.91 s, and 0.18-0.27 s with them imported here.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

import convcore


def preload() -> list[str]:
    """Import every module of convcore (the engine, the figures, the Streamlit layer); returns their names."""
    # st.cache_data checks its arguments when a function is decorated and, with no server running yet, logs that it
    # would use an in-memory cache; the server's own cache is the one used at call time, so the line is only noise.
    from streamlit.runtime.caching import cache_data_api  # (importing it sets its logger's level)

    caching = logging.getLogger(cache_data_api.__name__)
    level = caching.level
    caching.setLevel(logging.ERROR)
    try:
        names = [info.name for info in pkgutil.walk_packages(convcore.__path__, "convcore.")]
        for name in names:
            importlib.import_module(name)
    finally:
        caching.setLevel(level)
    return names


def main() -> None:
    preload()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", "app.py", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
