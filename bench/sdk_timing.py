"""Runs inside bench/.sdk-venv: times Antom's official SDK signature_tool and prints JSON."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable


def best_per_call_ns(fn: Callable[[], object], calls: int, repeats: int) -> float:
    """The fastest of ``repeats`` batches, per call: the least noisy estimate on a shared machine.

    bench/signing.py imports this too, so the SDK and antom_django are timed by the same loop.
    """
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter_ns() - started) / calls)
    return best


def main() -> None:
    # Imported here: this module is also imported by bench/signing.py, where the SDK is not installed.
    from com.alipay.ams.api.tools import signature_tool  # type: ignore[import-not-found]  # noqa: PLC0415

    job = json.load(sys.stdin)
    v = job["vectors"]
    client_id = v["client_id"]
    # Every request vector, signed by the SDK: the caller compares these with its own signatures.
    signatures = [
        signature_tool.sign(r["method"], r["path"], client_id, r["request_time"], r["body"], v["merchant_private_key"])
        for r in v["requests"]
    ]
    ours_verified = [
        bool(
            signature_tool.verify(
                r["method"], r["path"], client_id, r["request_time"], r["body"], sig, v["merchant_public_key"]
            )
        )
        for r, sig in zip(v["requests"], job["our_signatures"], strict=True)
    ]
    r = v["requests"][0]
    note = job["notification"]

    def sign() -> None:
        signature_tool.sign(r["method"], r["path"], client_id, r["request_time"], r["body"], v["merchant_private_key"])

    def verify() -> None:
        signature_tool.verify(
            note["method"],
            note["path"],
            note["client_id"],
            note["request_time"],
            note["body"],
            note["signature"],
            v["antom_public_key"],
        )

    out = {
        "signatures": signatures,
        "verified_ours": ours_verified,
        "sign_ns": best_per_call_ns(sign, job["sign_calls"], job["repeats"]),
        "verify_ns": best_per_call_ns(verify, job["verify_calls"], job["repeats"]),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
