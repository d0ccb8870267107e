"""The simulator's settings: timing, time scale, notification behaviour and run-wide faults."""

from __future__ import annotations

from dataclasses import dataclass, field

from .faults import Faults

# Antom's documented resend intervals for notifications (seconds between tries; at most 8 tries).
NOTIFY_SCHEDULE: tuple[int, ...] = (0, 120, 600, 600, 3600, 7200, 21600, 54000)

DEFAULT_CLIENT_ID = "SANDBOX_5YLOCAL00000001"


@dataclass
class SandboxConfig:
    """How the simulator behaves; every duration is in seconds of simulated time.

    ``time_scale`` multiplies the notification schedule and the settle delays, so
    ``time_scale=0.0001`` runs Antom's 24-hour retry schedule in under 9 seconds.
    """

    time_scale: float = 1.0
    session_ttl: float = 3600.0
    auth_ttl: float = 7 * 24 * 3600.0
    settle_delay: float = 30.0
    notify_schedule: tuple[int, ...] = NOTIFY_SCHEDULE
    notify_timeout: float = 5.0
    notify_time_format: str = "iso"  # "iso" (2024-01-01T00:00:00+08:00) or "millis"
    resend_notifications: bool = True
    reorder_window: float = 0.3  # real seconds notifications are held to be sent in reverse order
    public_url: str | None = None
    max_body_bytes: int = 1 << 20
    seed: int | None = None
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if self.notify_time_format not in ("iso", "millis"):
            raise ValueError("notify_time_format must be 'iso' or 'millis'")
        if not 1 <= len(self.notify_schedule) <= 8:
            raise ValueError("notify_schedule holds 1 to 8 intervals")

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale
