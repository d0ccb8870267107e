"""The client's error tree: every failure talking to Antom is one of these."""

from __future__ import annotations


class AntomError(Exception):
    """Base of every error raised by :mod:`antom_django.client`.

    Carries Antom's ``result`` fields when there were any, and the merchant
    request id (``paymentRequestId`` / ``captureRequestId`` / ...) of the call.
    """

    def __init__(
        self,
        message: str,
        *,
        result_code: str | None = None,
        result_status: str | None = None,
        result_message: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.result_code = result_code
        self.result_status = result_status
        self.result_message = result_message
        self.request_id = request_id
        self.http_status = http_status
        self.operation = operation

    def __str__(self) -> str:
        parts = [self.message]
        if self.result_code:
            parts.append(f"resultCode={self.result_code}")
        if self.request_id:
            parts.append(f"requestId={self.request_id}")
        return " ".join(parts)


class ConfigurationError(AntomError):
    """The client cannot be built: missing client id, unusable key, bad URL."""


class KeyFormatError(ConfigurationError):
    """A key could not be parsed, or is not the kind of key expected."""


class SignatureError(AntomError):
    """A signature is missing, malformed or does not verify."""


class AntomFailed(AntomError):
    """Antom answered ``resultStatus`` F: the operation definitely did not happen.

    Do not retry with the same request id; it would return the same failure.
    """


class AntomOutcomeUnknown(AntomError):
    """The outcome is unknown: ``resultStatus`` U, a timeout, a 5xx, a broken link.

    Money may or may not have moved. Retry with the *same* request id, or wait
    for a notification / an inquiry to settle it. Never treat as failure.
    """


class AntomUnknownResult(AntomOutcomeUnknown):
    """Antom answered ``resultStatus`` U (e.g. ``UNKNOWN_EXCEPTION``, ``*_IN_PROCESS``)."""


class AntomTransportError(AntomOutcomeUnknown):
    """The HTTP exchange itself failed."""


class AntomTimeout(AntomTransportError):
    """Connecting to or reading from Antom took longer than the configured timeout."""


class AntomConnectionError(AntomTransportError):
    """No connection to Antom could be made, or it broke mid-request."""


class AntomServerError(AntomOutcomeUnknown):
    """Antom answered with an HTTP 5xx status."""


class AntomInvalidResponse(AntomOutcomeUnknown):
    """Antom's answer could not be read: empty, not JSON, too large, no ``result``."""


class AntomResponseSignatureError(AntomOutcomeUnknown, SignatureError):
    """A response that must be signed was unsigned or signed with another key."""
