"""Django app configuration for ``antom_django``."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class AntomConfig(AppConfig):
    name = "antom_django"
    verbose_name = "Antom payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks as antom_checks

        checks.register(antom_checks.check_settings, "antom")
