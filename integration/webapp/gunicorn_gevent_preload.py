"""gunicorn settings for gevent workers with --preload (`-c python:...gunicorn_gevent_preload`).

With --preload the master imports the app before it forks, and so before the
gevent worker patches the standard library: patch here, first, or psycopg 3
picks its blocking wait function and the locks made at import are real ones.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

from integration.webapp.gunicorn_gevent import post_fork, worker_class  # noqa: E402

preload_app = True
__all__ = ["post_fork", "preload_app", "worker_class"]
