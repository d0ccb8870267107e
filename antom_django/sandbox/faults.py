"""Fault injection: per run (CLI / admin endpoint) and per request (``X-Antom-Sandbox-Fault`` header)."""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

FAULT_HEADER = "X-Antom-Sandbox-Fault"
HTTP_FAULT_HEADER = "HTTP_X_ANTOM_SANDBOX_FAULT"
_RESULT_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


class FaultSpecError(ValueError):
    """A fault specification that cannot be understood."""


@dataclass(frozen=True)
class Faults:
    """What to break. Rates are probabilities (1.0 = always); ``notify_drop`` -1 means every attempt."""

    latency: float = 0.0
    http_error_rate: float = 0.0
    http_error_status: int = 500
    unknown_rate: float = 0.0
    notify_drop: int = 0
    notify_duplicate: bool = False
    notify_reorder: bool = False
    operations: tuple[str, ...] = field(default=())
    refuse_code: str = ""
    """Answer ``resultStatus`` F with this result code instead of running the operation (nothing happens)."""

    def __post_init__(self) -> None:
        if self.latency < 0:
            raise FaultSpecError("latency must be zero or more seconds")
        for name in ("http_error_rate", "unknown_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise FaultSpecError(f"{name} must be between 0 and 1")
        if not 500 <= self.http_error_status <= 599:
            raise FaultSpecError("http_error_status must be a 5xx status")
        if self.notify_drop < -1:
            raise FaultSpecError("notify_drop must be -1 (all), 0 or a number of attempts")
        if self.refuse_code and not _RESULT_CODE.match(self.refuse_code):
            raise FaultSpecError("refuse_code must be a result code: capitals, digits and _, at most 64")

    def applies_to(self, operation: str) -> bool:
        return not self.operations or operation in self.operations

    def http_error(self, rng: random.Random) -> bool:
        return self.http_error_rate > 0 and rng.random() < self.http_error_rate

    def unknown(self, rng: random.Random) -> bool:
        return self.unknown_rate > 0 and rng.random() < self.unknown_rate

    @property
    def touches_notifications(self) -> bool:
        return bool(self.notify_drop or self.notify_duplicate or self.notify_reorder)

    def merged(self, other: Faults | None) -> Faults:
        """``other`` wins wherever it sets something."""
        if other is None:
            return self
        defaults = Faults()
        changes = {
            f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name) != getattr(defaults, f.name)
        }
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["operations"] = list(self.operations)
        return data

    @classmethod
    def from_json(cls, data: Any) -> Faults:
        if not isinstance(data, dict):
            raise FaultSpecError("faults must be a JSON object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise FaultSpecError(f"unknown fault setting(s): {', '.join(unknown)}")
        values = dict(data)
        if "operations" in values:
            ops = values["operations"]
            if isinstance(ops, str):
                ops = [o for o in ops.split(",") if o]
            values["operations"] = tuple(ops or ())
        try:
            return cls(**values)
        except TypeError as exc:
            raise FaultSpecError(str(exc)) from None

    @classmethod
    def from_header(cls, value: str | None) -> Faults | None:
        """Parse ``latency=0.5, http=503, result=U|F:<CODE>, drop=2|all, duplicate, reorder, ops=capture+refund``."""
        if not value or not value.strip():
            return None
        kwargs: dict[str, Any] = {}
        for token in value.split(","):
            name, sep, arg = token.strip().partition("=")
            name = name.strip().lower()
            arg = arg.strip()
            try:
                if name == "latency":
                    kwargs["latency"] = float(arg)
                elif name == "http":
                    kwargs["http_error_rate"] = 1.0
                    kwargs["http_error_status"] = int(arg or 500)
                elif name == "result" and arg.upper() == "U":
                    kwargs["unknown_rate"] = 1.0
                elif name == "result" and arg.upper().startswith("F:") and arg[2:].strip():
                    kwargs["refuse_code"] = arg[2:].strip()
                elif name == "drop":
                    kwargs["notify_drop"] = -1 if arg.lower() in ("", "all") else int(arg)
                elif name == "duplicate" and not sep:
                    kwargs["notify_duplicate"] = True
                elif name == "reorder" and not sep:
                    kwargs["notify_reorder"] = True
                elif name == "ops":
                    kwargs["operations"] = tuple(o for o in arg.split("+") if o)
                else:
                    raise FaultSpecError(f"unknown fault {token.strip()!r}")
            except ValueError as exc:
                if isinstance(exc, FaultSpecError):
                    raise
                raise FaultSpecError(f"bad value in fault {token.strip()!r}") from None
        return cls(**kwargs)
