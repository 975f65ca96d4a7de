"""What the tasks write: two counters, and one row per task run."""

from __future__ import annotations

from django.db import models


class Counter(models.Model):
    value = models.IntegerField(default=0)


class TaskRun(models.Model):
    """A task that ran: which server session it used, from which process."""

    token = models.CharField(max_length=64, unique=True)
    session = models.CharField(max_length=64)  # the server's id of the session
    pid = models.IntegerField()
