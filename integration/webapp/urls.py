from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("sync/", views.sync_view),
    path("async/", views.async_view),
    path("atomic/", views.atomic_view),
    path("slow/", views.slow_view),
    path("slow-async/", views.slow_async_view),
    path("stats/", views.stats_view),
]
