"""The shop app; its signal receivers are connected when Django is ready."""

from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Shop"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the receivers of antom_django's signals
