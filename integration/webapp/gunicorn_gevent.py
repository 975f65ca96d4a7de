"""gunicorn settings for gevent workers (`gunicorn -c python:integration.webapp.gunicorn_gevent`).

The gevent worker monkey-patches the standard library when it starts, before
it imports the app (no --preload), so psycopg 3, imported later, sees the
patched `select` and waits through gevent by itself. psycopg2 (which Django
uses only where psycopg 3 is not installed) needs psycogreen's wait callback,
set here in every worker.
"""

from __future__ import annotations

import importlib.util
from typing import Any

worker_class = "gevent"


def post_fork(server: Any, worker: Any) -> None:
    # find_spec, not an import: psycopg 3 imported before the patching would
    # pick its blocking wait function.
    if importlib.util.find_spec("psycopg") is None:
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()
