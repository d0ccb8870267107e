"""A local stand-in for Antom's gateway, hosted checkout and web SDK (like stripe-mock for Stripe)."""

from __future__ import annotations

from .app import SandboxApp
from .cards import TEST_CARDS
from .config import DEFAULT_CLIENT_ID, NOTIFY_SCHEDULE, SandboxConfig
from .engine import Simulator
from .faults import Faults
from .server import Merchant, SandboxServer, session_id_from

__all__ = [
    "DEFAULT_CLIENT_ID",
    "NOTIFY_SCHEDULE",
    "TEST_CARDS",
    "Faults",
    "Merchant",
    "SandboxApp",
    "SandboxConfig",
    "SandboxServer",
    "Simulator",
    "session_id_from",
]
