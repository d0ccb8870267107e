"""Django app configuration for ``antom_django``."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db.backends.signals import connection_created

SQLITE_BUSY_TIMEOUT_MS = 20_000
"""How long a SQLite connection waits for another one's write lock when the project sets no ``timeout``.

Python's default is 5 s. This app's transactions last milliseconds, but runserver's threads, the
notifications Antom sends and a shell or worker can queue up behind each other on a busy machine; 20 s
outlasts such a queue and still fails well before a web server's usual 30 s request timeout."""


def sqlite_busy_timeout(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Give a new SQLite connection :data:`SQLITE_BUSY_TIMEOUT_MS`, unless ``OPTIONS`` has a ``timeout``."""
    if connection.vendor == "sqlite" and "timeout" not in connection.settings_dict.get("OPTIONS", {}):
        # On the driver's connection: not a query of the project's (no query log, no debug cursor).
        connection.connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


class AntomConfig(AppConfig):
    name = "antom_django"
    verbose_name = "Antom payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks as antom_checks

        checks.register(antom_checks.check_settings, "antom")
        connection_created.connect(sqlite_busy_timeout, dispatch_uid="antom_django.sqlite_busy_timeout")
