"""Small WSGI plumbing: requests, responses, JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

STATUS_TEXT = {
    200: "OK",
    204: "No Content",
    302: "Found",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class BodyTooLarge(Exception):
    """The request body is over the simulator's limit."""


@dataclass
class Request:
    """The parts of a WSGI environ the simulator reads."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    origin: str
    query: str = ""

    @classmethod
    def from_environ(cls, environ: dict[str, Any], max_body: int, public_url: str | None) -> Request:
        headers = {
            key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_body:
            raise BodyTooLarge(length)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        host = headers.get("host") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        origin = (public_url or f"{environ.get('wsgi.url_scheme', 'http')}://{host}").rstrip("/")
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            path=_origin_form(str(environ.get("PATH_INFO") or "/")),
            headers=headers,
            body=body,
            origin=origin,
            query=str(environ.get("QUERY_STRING") or ""),
        )

    def json(self) -> Any:
        """The body as JSON (``{}`` when empty); ``ValueError`` when it is not JSON."""
        if not self.body.strip():
            return {}
        return json.loads(self.body)


def _origin_form(path: str) -> str:
    """The path of an absolute-form request target (``POST http://host/ams/... HTTP/1.1``).

    Servers must accept that form (RFC 9112, section 3.2.2) and Antom's Python SDK sends it; the
    stdlib's WSGI server passes it on as ``PATH_INFO`` unchanged.
    """
    if path.startswith(("http://", "https://")):
        return urlsplit(path).path or "/"
    return path


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, start_response: Any) -> Iterable[bytes]:
        headers = [*self.headers, ("Content-Length", str(len(self.body)))]
        start_response(f"{self.status} {STATUS_TEXT.get(self.status, 'Status')}", headers)
        return [self.body]


def json_response(data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/json; charset=UTF-8"), *(headers or [])])


def text_response(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, text.encode("utf-8"), [("Content-Type", content_type)])
