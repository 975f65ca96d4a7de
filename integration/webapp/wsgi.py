"""The WSGI application, for gunicorn's gevent workers (see gunicorn_gevent.py)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.webapp.settings")
application = get_wsgi_application()
