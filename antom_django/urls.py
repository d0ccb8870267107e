"""URLs of antom_django: ``path("antom/", include("antom_django.urls"))``."""

from __future__ import annotations

from django.urls import path

from .api.routes import endpoints
from .api.schema import HAS_SPECTACULAR

app_name = "antom"

urlpatterns = [*endpoints]

if HAS_SPECTACULAR:
    from .api.openapi import SchemaView

    urlpatterns.append(path("schema/", SchemaView.as_view(), name="schema"))
