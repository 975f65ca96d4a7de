"""The macro benchmark's Django app: one view reads a row, one writes a row, through the ORM.

    cd bench && gunicorn app:application   # with DJPOOL_BENCH_DATABASE='{"ENGINE": ...}'
    cd bench && uvicorn app:asgi_application
    python bench/app.py setup               # create and fill the tables

The database entry comes as JSON in DJPOOL_BENCH_DATABASE (see micro.configure),
so the same app serves every configuration that run.py compares.
"""

from __future__ import annotations

import random
import sys

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.db import connection, models
from django.http import HttpRequest, HttpResponse
from django.urls import path
from micro import configure

configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], MIDDLEWARE=[])
ITEMS = 1000


class Item(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        app_label = "bench"


class Hit(models.Model):
    item_id = models.IntegerField()

    class Meta:
        app_label = "bench"


def read(request: HttpRequest) -> HttpResponse:
    """Read one row by primary key."""
    item = Item.objects.get(pk=random.randint(1, ITEMS))
    return HttpResponse(item.name)


def write(request: HttpRequest) -> HttpResponse:
    """Insert one row."""
    hit = Hit.objects.create(item_id=random.randint(1, ITEMS))
    return HttpResponse(str(hit.pk))


urlpatterns = [path("read", read), path("write", write)]
application = get_wsgi_application()
asgi_application = get_asgi_application()


def set_up_tables() -> None:
    """Create both tables and fill the one that `read` reads."""
    with connection.schema_editor() as editor:
        editor.create_model(Item)
        editor.create_model(Hit)
    Item.objects.bulk_create(Item(pk=n, name=f"item {n}") for n in range(1, ITEMS + 1))


if __name__ == "__main__" and sys.argv[1:] == ["setup"]:
    set_up_tables()
