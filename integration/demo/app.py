"""The demo's Django app: a tiny table and a view that reads one row of it."""

from __future__ import annotations

import threading

from django.db import connection, models
from django.http import HttpRequest, HttpResponse
from django.urls import path


class Item(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        app_label = "demo"


# The server process ids that served the views: one per physical connection.
backend_pids: set[int] = set()
_pids_lock = threading.Lock()


def first_item(request: HttpRequest) -> HttpResponse:
    """Read the first item through the ORM and note which server session served it."""
    item = Item.objects.order_by("pk").first()
    # The pid the server sent when the session started: known without a round trip.
    pid = connection.connection.info.backend_pid
    with _pids_lock:
        backend_pids.add(pid)
    return HttpResponse(item.name if item else "")


urlpatterns = [path("", first_item)]
