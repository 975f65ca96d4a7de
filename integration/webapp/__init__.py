"""A small Django project served by real servers in the serving tests.

uvicorn or granian run it as ASGI (asgi.py), gunicorn with gevent workers as
WSGI (wsgi.py, gunicorn_gevent.py); integration/serving.py starts them and
the tests in integration/tests/test_asgi.py and test_gevent.py load them.
"""
