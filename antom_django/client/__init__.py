"""Antom's wire protocol: keys, signatures, typed bodies and the HTTP client. No Django here."""

from __future__ import annotations

from .api import AntomClient, sandbox_path
from .errors import (
    AntomConnectionError,
    AntomError,
    AntomFailed,
    AntomInvalidResponse,
    AntomOutcomeUnknown,
    AntomResponseSignatureError,
    AntomServerError,
    AntomTimeout,
    AntomTransportError,
    AntomUnknownResult,
    ConfigurationError,
    KeyFormatError,
    SignatureError,
)
from .money import Amount, MoneyError
from .signing import Signer, Verifier, build_signature_header, parse_signature_header

__all__ = [
    "Amount",
    "AntomClient",
    "AntomConnectionError",
    "AntomError",
    "AntomFailed",
    "AntomInvalidResponse",
    "AntomOutcomeUnknown",
    "AntomResponseSignatureError",
    "AntomServerError",
    "AntomTimeout",
    "AntomTransportError",
    "AntomUnknownResult",
    "ConfigurationError",
    "KeyFormatError",
    "MoneyError",
    "SignatureError",
    "Signer",
    "Verifier",
    "build_signature_header",
    "parse_signature_header",
    "sandbox_path",
]
