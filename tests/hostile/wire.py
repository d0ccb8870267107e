"""Raw HTTP/1.1 for the hostile-input corpus: requests built byte by byte, sent over a socket, answers read back.

``http.client`` and ``requests`` refuse (or re-encode) many of the header values the corpus must send; here a
header value is whatever bytes the case gives, and ``Content-Length`` is whatever the case declares.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
from dataclasses import dataclass, field
from typing import Any

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Request:
    """One request as it goes on the wire. ``content_length`` ``None``: the body's real length."""

    method: str
    path: str
    headers: Headers = ()
    body: bytes = b""
    content_length: bytes | None = None

    def header(self, name: str) -> bytes | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def with_header(self, name: str, value: bytes | str | None) -> Request:
        """This request with ``name`` replaced (``None``: removed); other headers keep their order."""
        kept = tuple((key, val) for key, val in self.headers if key.lower() != name.lower())
        if value is None:
            return Request(self.method, self.path, kept, self.body, self.content_length)
        raw = value.encode("utf-8") if isinstance(value, str) else value
        return Request(self.method, self.path, (*kept, (name, raw)), self.body, self.content_length)

    def to_bytes(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1".encode("latin-1"), f"Host: {host}".encode("latin-1")]
        lines += [name.encode("latin-1") + b": " + value for name, value in self.headers]
        length = str(len(self.body)).encode() if self.content_length is None else self.content_length
        chunked = (self.header("Transfer-Encoding") or b"").lower() == b"chunked"
        if not chunked and (self.method != "GET" or self.body or self.content_length is not None):
            lines.append(b"Content-Length: " + length)
        lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: Request = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body)


def send(address: tuple[str, int], request: Request, timeout: float = 30.0) -> Answer:
    """Send ``request`` on a fresh connection and read the answer until the server closes it.

    Waiting for the close (``Connection: close``) means the server finished the request (its
    ``request_finished`` handlers included) before the caller looks at the database.
    """
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(request.to_bytes(f"{address[0]}:{address[1]}"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    response = http.client.HTTPResponse(_FakeSocket(raw), method=request.method)  # type: ignore[arg-type]
    response.begin()
    body = response.read()
    return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body, request)


class _FakeSocket:
    def __init__(self, raw: bytes) -> None:
        self._file = io.BytesIO(raw)

    def makefile(self, *args: Any, **kwargs: Any) -> io.BytesIO:
        return self._file
