"""Views that use the database the ways real apps do: sync, async, atomic, slow."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

import dj_db_conn_pool

from .models import Counter, Hit


def _read_and_write(view: str) -> dict[str, int]:
    """Write a row for this request and read it back with the counter."""
    hit = Hit.objects.create(view=view)
    counter = Counter.objects.get(name="atomic")
    return {"hit": Hit.objects.get(pk=hit.pk).pk, "counter": counter.value}


def sync_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse(_read_and_write("sync"))


async def async_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse(await sync_to_async(_read_and_write)("async"))


def atomic_view(request: HttpRequest) -> HttpResponse:
    """Increment the counter under a row lock: the tests compare it with the 200s."""
    with transaction.atomic():
        counter = Counter.objects.select_for_update().get(name="atomic")
        counter.value += 1
        counter.save(update_fields=["value"])
    return JsonResponse({"counter": counter.value})


def _sleep_on_server(seconds: float) -> None:
    sql = "SELECT SLEEP(%s)" if connection.vendor == "mysql" else "SELECT pg_sleep(%s)"
    with connection.cursor() as cursor:
        cursor.execute(sql, [seconds])


def slow_view(request: HttpRequest) -> HttpResponse:
    """Hold a connection for ?seconds= (0.5), sleeping on the server."""
    _sleep_on_server(float(request.GET.get("seconds", "0.5")))
    return JsonResponse({"slept": True})


async def slow_async_view(request: HttpRequest) -> HttpResponse:
    """Do ORM work, then wait ?seconds= (0.5) without the database."""
    done = await sync_to_async(_read_and_write)("slow-async")
    await asyncio.sleep(float(request.GET.get("seconds", "0.5")))
    return JsonResponse(done)


def stats_view(request: HttpRequest) -> HttpResponse:
    """Return dj_db_conn_pool.stats() of this process; touches no database."""
    return JsonResponse(dj_db_conn_pool.stats())
