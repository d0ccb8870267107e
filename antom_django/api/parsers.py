"""Request body parsers of the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with nesting deeper than Python's recursion limit a 400 ``json_too_deep``.

    ``json.load`` raises ``RecursionError`` (not ``ValueError``) there, which DRF lets through as a 500.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.", code="json_too_deep") from None
