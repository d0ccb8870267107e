"""The OpenAPI 3 schema of antom_django's endpoints alone, wherever the project mounts them (needs ``[api]``)."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularJSONAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from .. import __version__ as version
from .routes import endpoints

SCHEMA_SETTINGS: dict[str, Any] = {
    "TITLE": "antom_django",
    "DESCRIPTION": "Antom card payments: payment sessions, payment status for the result page, and Antom's "
    "signed notifications.",
    "VERSION": version,
}


def api_patterns(prefix: str = "antom/") -> list[Any]:
    """The three endpoints mounted under ``prefix``, as the schema generator walks them."""
    return [path(prefix.lstrip("/"), include((endpoints, "antom")))]


def build_schema(prefix: str = "antom/", request: Request | None = None) -> dict[str, Any]:
    """The schema as a dict (what CI validates and the view serves)."""
    from drf_spectacular.settings import patched_settings

    with patched_settings(SCHEMA_SETTINGS):
        generator = SchemaGenerator(patterns=api_patterns(prefix))
        return generator.get_schema(request=request, public=True)  # type: ignore[no-any-return]


class SchemaView(SpectacularJSONAPIView):
    """``GET schema/``: the OpenAPI 3 document for sessions/, payments/<id>/ and notify/."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        here = request.path
        prefix = here[: -len("schema/")] if here.endswith("schema/") else "/antom/"
        return Response(build_schema(prefix, request))
