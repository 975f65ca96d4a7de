"""The project's tables: a counter that atomic() requests increment, and a row per request."""

from __future__ import annotations

from django.db import models


class Counter(models.Model):
    name = models.CharField(max_length=50, unique=True)
    value = models.IntegerField(default=0)

    class Meta:
        app_label = "webapp"


class Hit(models.Model):
    view = models.CharField(max_length=50)

    class Meta:
        app_label = "webapp"
