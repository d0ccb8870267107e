"""OpenAPI annotations through drf-spectacular when installed (the ``[api]`` extra), no-ops otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

try:
    from drf_spectacular.openapi import AutoSchema
    from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field

    HAS_SPECTACULAR = True
except ImportError:  # pragma: no cover - exercised only without the [api] extra
    HAS_SPECTACULAR = False
    AutoSchema = None  # type: ignore[assignment,misc]

    def extend_schema(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:  # type: ignore[misc,no-redef]
        return lambda target: target

    def extend_schema_field(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:  # type: ignore[misc,no-redef]
        return lambda target: target

    class OpenApiParameter:  # type: ignore[no-redef]
        HEADER = "header"
        PATH = "path"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

    class OpenApiResponse:  # type: ignore[no-redef]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass


def view_schema() -> Any:
    """drf-spectacular's inspector whatever the project's ``DEFAULT_SCHEMA_CLASS`` (DRF's own without it)."""
    if AutoSchema is None:  # pragma: no cover - without the [api] extra
        from rest_framework.schemas import DefaultSchema

        return DefaultSchema()
    return AutoSchema()


def annotate(**kwargs: Any) -> Callable[[F], F]:
    """``extend_schema`` on a view method, based on drf-spectacular's AutoSchema.

    Without the explicit base, ``extend_schema`` would build on the project's
    ``DEFAULT_SCHEMA_CLASS`` (DRF's own by default) and schema generation fails.
    """

    def wrap(method: F) -> F:
        if AutoSchema is None:  # pragma: no cover - without the [api] extra
            return method
        method.schema = AutoSchema  # type: ignore[attr-defined]
        decorated: F = extend_schema(**kwargs)(method)
        return decorated

    return wrap


__all__ = [
    "HAS_SPECTACULAR",
    "OpenApiParameter",
    "OpenApiResponse",
    "annotate",
    "extend_schema",
    "extend_schema_field",
    "view_schema",
]
