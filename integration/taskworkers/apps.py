from __future__ import annotations

from django.apps import AppConfig


class TaskWorkersConfig(AppConfig):
    name = "integration.taskworkers"
    label = "taskworkers"
