"""Per-request cost of our Signer/Verifier against bare ``cryptography`` and Antom's official SDK.

Usage: ``python bench/signing.py`` (full, fails if a target is missed) or ``--smoke`` (few
iterations, reports only). Both fail loudly if our signatures and the SDK's differ.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote_plus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

from antom_django.client.keys import load_private_key, load_public_key  # noqa: E402
from antom_django.client.signing import Signer, Verifier, content_to_sign, parse_signature_header  # noqa: E402
from bench.sdk_timing import best_per_call_ns  # noqa: E402
from bench.targets import Target, report_targets  # noqa: E402

VECTORS = json.loads((ROOT / "tests" / "fixtures" / "signature_vectors.json").read_text())
SDK_VERSION = "1.7.1"
SDK_VENV = Path(os.environ.get("ANTOM_BENCH_SDK_VENV", ROOT / "bench" / ".sdk-venv"))

TARGET_FLOOR = 1.3  # ours / bare cryptography, at most
TARGET_SDK_SIGN = 50.0  # SDK / ours, at least
TARGET_SDK_VERIFY = 10.0

MODES = {
    #         sign calls, verify calls, repeats, SDK sign calls, SDK verify calls, SDK repeats
    "full": (400, 4000, 7, 40, 400, 3),
    "smoke": (20, 200, 2, 3, 20, 1),
}


class Mismatch(SystemExit):
    """Our signature and the official SDK's disagree: a correctness failure, never noise."""


def interleaved(pairs: dict[str, Callable[[], object]], calls: int, repeats: int) -> dict[str, float]:
    """Time several functions in alternating batches so drift hits all of them alike."""
    best = dict.fromkeys(pairs, float("inf"))
    for _ in range(repeats):
        for name, fn in pairs.items():
            best[name] = min(best[name], best_per_call_ns(fn, calls, 1))
    return best


def ensure_sdk_venv() -> Path:
    """Create bench/.sdk-venv with the pinned official SDK (it pins its own cryptography).

    Shared with ``tests/sandbox/test_official_sdk.py`` (one venv, one pin); a lock keeps two processes
    from building it at the same time.
    """
    python = SDK_VENV / "bin" / "python"
    marker = SDK_VENV / f".installed-{SDK_VERSION}"
    if marker.exists():
        return python
    lock_name = f"antom-sdk-venv-{hashlib.sha256(str(SDK_VENV.resolve()).encode()).hexdigest()[:16]}.lock"
    with open(Path(tempfile.gettempdir()) / lock_name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():  # built by whoever held the lock before us
            return python
        print(f"creating {SDK_VENV} with global-open-sdk-python=={SDK_VERSION} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(SDK_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"global-open-sdk-python=={SDK_VERSION}",
            ],
            check=True,
        )
        marker.touch()
    return python


def run_sdk(
    python: Path, our_signatures: list[str], notification: dict, sign_calls: int, verify_calls: int, repeats: int
) -> dict:
    job = {
        "vectors": VECTORS,
        "our_signatures": our_signatures,
        "notification": notification,
        "sign_calls": sign_calls,
        "verify_calls": verify_calls,
        "repeats": repeats,
    }
    done = subprocess.run(
        [str(python), str(ROOT / "bench" / "sdk_timing.py")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"official SDK run failed:\n{done.stderr}")
    return json.loads(done.stdout)


def check_agreement(ours: list[str], sdk: dict) -> None:
    for i, (vector, mine, theirs) in enumerate(zip(VECTORS["requests"], ours, sdk["signatures"], strict=True)):
        if not (mine == theirs == vector["signature"]):
            raise Mismatch(f"SIGNATURE MISMATCH on request vector {i} ({vector['path']}): ours, SDK and vector differ")
    if not all(sdk["verified_ours"]):
        raise Mismatch("SIGNATURE MISMATCH: the official SDK rejects a signature we produced")


def fmt(ns: float) -> str:
    return f"{ns / 1000:9.1f} µs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="few iterations; report ratios, never fail on them")
    parser.add_argument("--no-sdk", action="store_true", help="skip the official SDK comparison")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "full"
    sign_calls, verify_calls, repeats, sdk_sign_calls, sdk_verify_calls, sdk_repeats = MODES[mode]

    private = load_private_key(VECTORS["merchant_private_key"])
    antom_public = load_public_key(VECTORS["antom_public_key"])
    signer, verifier = Signer(private), Verifier(antom_public)
    client_id = VECTORS["client_id"]

    ours_all = [
        signer.sign(r["method"], r["path"], client_id, r["request_time"], r["body"]) for r in VECTORS["requests"]
    ]
    for vector, sig in zip(VECTORS["requests"], ours_all, strict=True):
        if sig != vector["signature"]:
            raise Mismatch(f"SIGNATURE MISMATCH: ours differs from the vector for {vector['path']}")

    r = VECTORS["requests"][0]
    note = next(n for n in VECTORS["notifications"] if n["valid"])
    note_sig = parse_signature_header(note["signature_header"]).signature
    # The floor gets everything pre-computed: the content bytes and the raw signature.
    sign_content = content_to_sign(r["method"], r["path"], client_id, r["request_time"], r["body"])
    verify_content = content_to_sign(
        note["method"], note["path"], note["client_id"], note["request_time"], note["body"]
    )
    raw_sig = base64.b64decode(unquote_plus(note_sig))
    pad, sha = padding.PKCS1v15(), hashes.SHA256()

    sign = interleaved(
        {
            "floor": lambda: private.sign(sign_content, pad, sha),
            "ours": lambda: signer.sign(r["method"], r["path"], client_id, r["request_time"], r["body"]),
        },
        sign_calls,
        repeats,
    )
    verify = interleaved(
        {
            "floor": lambda: antom_public.verify(raw_sig, verify_content, pad, sha),
            "ours": lambda: verifier.verify(
                note["method"], note["path"], note["client_id"], note["request_time"], note["body"], note_sig
            ),
        },
        verify_calls,
        repeats,
    )

    sdk: dict | None = None
    if not args.no_sdk:
        try:
            python = ensure_sdk_venv()
        except (subprocess.CalledProcessError, OSError) as exc:
            if not args.smoke:
                raise SystemExit(f"cannot install the official SDK: {exc}") from None
            print(f"!! official SDK comparison SKIPPED: cannot install it ({exc})")
        else:
            notification = {**note, "signature": note_sig}
            sdk = run_sdk(python, ours_all, notification, sdk_sign_calls, sdk_verify_calls, sdk_repeats)
            check_agreement(ours_all, sdk)

    print(
        f"antom_django signing bench ({mode}; RSA-{private.key_size}, body {len(r['body'])} B / {len(note['body'])} B)"
    )
    print(f"{'':24}{'sign':>12}{'verify':>12}")
    print(f"{'cryptography (floor)':24}{fmt(sign['floor']):>12}{fmt(verify['floor']):>12}")
    print(f"{'antom_django':24}{fmt(sign['ours']):>12}{fmt(verify['ours']):>12}")
    sign_floor, verify_floor = sign["ours"] / sign["floor"], verify["ours"] / verify["floor"]
    targets = [
        Target("sign ours/floor", f"{sign_floor:.2f}×", f"≤ {TARGET_FLOOR}×", sign_floor <= TARGET_FLOOR),
        Target("verify ours/floor", f"{verify_floor:.2f}×", f"≤ {TARGET_FLOOR}×", verify_floor <= TARGET_FLOOR),
    ]
    if sdk is not None:
        print(f"{'official SDK ' + SDK_VERSION:24}{fmt(sdk['sign_ns']):>12}{fmt(sdk['verify_ns']):>12}")
        s, v = sdk["sign_ns"] / sign["ours"], sdk["verify_ns"] / verify["ours"]
        targets.append(Target("sign sdk/ours", f"{s:.2f}×", f"≥ {TARGET_SDK_SIGN:g}×", s >= TARGET_SDK_SIGN))
        targets.append(Target("verify sdk/ours", f"{v:.2f}×", f"≥ {TARGET_SDK_VERIFY:g}×", v >= TARGET_SDK_VERIFY))
        print(f"signatures: ours == official SDK == vectors for all {len(ours_all)} request vectors")
    missed = report_targets(targets, smoke=args.smoke)
    if missed and not args.smoke:
        print(f"FAIL: target MISSED: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
