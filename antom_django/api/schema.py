"""OpenAPI annotations through drf-spectacular when installed (the ``[api]`` extra), no-ops otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F")

try:
    from drf_spectacular.openapi import AutoSchema
    from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field

    HAS_SPECTACULAR = True

    def view_schema() -> Any:
        """drf-spectacular's inspector, whatever the project's ``DEFAULT_SCHEMA_CLASS``."""
        return AutoSchema()
except ImportError:  # pragma: no cover - exercised only without the [api] extra
    HAS_SPECTACULAR = False

    def view_schema() -> Any:
        from rest_framework.schemas import DefaultSchema

        return DefaultSchema()

    def extend_schema(*args: Any, **kwargs: Any) -> Callable[[F], F]:  # type: ignore[no-redef]
        return lambda target: target

    def extend_schema_field(*args: Any, **kwargs: Any) -> Callable[[F], F]:  # type: ignore[no-redef]
        return lambda target: target

    class OpenApiParameter:  # type: ignore[no-redef]
        HEADER = "header"
        PATH = "path"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

    class OpenApiResponse:  # type: ignore[no-redef]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass


__all__ = [
    "HAS_SPECTACULAR",
    "OpenApiParameter",
    "OpenApiResponse",
    "extend_schema",
    "extend_schema_field",
    "view_schema",
]
