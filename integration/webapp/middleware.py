"""Answer 503 where the pool had no connection for a request within TIMEOUT."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from dj_db_conn_pool import PoolError


class PoolTimeoutMiddleware(MiddlewareMixin):
    """Turn PoolTimeout (and TooManyRequests) into 503 with the pool's message."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, PoolError):
            return None
        response = HttpResponse(f"{type(exception).__name__}: {exception}", status=503)
        response["Retry-After"] = "1"
        return response
