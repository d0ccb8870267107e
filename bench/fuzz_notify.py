"""Coverage-guided fuzzing (atheris, libFuzzer) of what turns a verified notification body into its parsed form.

The target is every step between the signature check and the database: ``api.notify.parse_body`` (bytes → JSON
object), ``services.validation.unusable`` (can it be applied?), then for a usable body
``client.types.parse_notification`` and ``services.notifications.dedupe_key``, and for an unusable one
``validation.known_ids`` and the typed view of those ids (what ``hold_for_review`` reads). The invariant: a
parsed result, or the documented refusal (``NotifyRejected`` 400 ``malformed_json`` / ``json_too_deep``) —
any other exception is a crash, and libFuzzer stops with the input that caused it.

Seeds are Antom's notification samples (``tests/fixtures/notify*.json``), the guide's PAYMENT_PENDING, REFUND
and capture samples, and every ``notify/`` body of the hostile-input corpus. Half the mutations are libFuzzer's
own on the bytes, half replace one value of a JSON body with a hostile one (so mutations reach the fields).

Usage:
    python bench/fuzz_notify.py --smoke                   # 10 s, what ``make test`` runs
    python bench/fuzz_notify.py                           # the full run: 10 minutes
    python bench/fuzz_notify.py -- -runs=100000           # any libFuzzer flags after --

Prints executions, coverage (libFuzzer's ``cov`` edges and ``ft`` features), corpus size and time; exits 1 on a
crash, printing the input. Needs ``pip install atheris`` (in the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SMOKE_SECONDS = 10
FULL_SECONDS = 600
MAX_LEN = 8192
HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    10**40,
    1.5,
    1e308,
    float("inf"),
    float("nan"),
    "",
    "\x00",
    "\ud800",
    "é" * 3,
    "9" * 30,
    "٤٢٠٠",
    "⁴²",
    "42e2",
    "SGD",
    "sgd",
    "XXXX",
    "S",
    "F",
    "U",
    "SUCCESS",
    "FAIL",
    "PROCESSING",
    "PAYMENT_RESULT",
    "PAYMENT_PENDING",
    "CAPTURE_RESULT",
    "REFUND_RESULT",
    "2024-01-01T00:00:00+08:00",
    "2024-13-45T99:99:99",
    "yesterday",
    "P" * 65,
    [],
    {},
    [{}],
    {"currency": "SGD", "value": "4200"},
    {"currency": 1, "value": []},
    {"resultStatus": "S"},
    {"resultStatus": ["S"]},
    [[[[[[]]]]]],
]


def seeds() -> list[bytes]:
    """Antom's notification samples and every notify/ body of the hostile-input corpus."""
    found = [path.read_bytes() for path in sorted((ROOT / "tests" / "fixtures").glob("notify*.json"))]
    pending = json.loads(found[-1])
    found += [
        json.dumps({**pending, "notifyType": "PAYMENT_PENDING", "paymentStatus": "PROCESSING"}).encode(),
        json.dumps(
            {
                "notifyType": "REFUND_RESULT",
                "refundRequestId": "refundRequestId01",
                "refundId": "20240101123456789XXXX",
                "refundAmount": {"currency": "SGD", "value": "4200"},
                "refundStatus": "SUCCESS",
                "refundTime": "2024-01-01T00:00:03+08:00",
                "paymentId": "20240101123456789XXXX",
                "result": {"resultStatus": "S", "resultCode": "SUCCESS", "resultMessage": "success."},
            }
        ).encode(),
    ]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from tests.hostile.corpus import NOTIFY, guide_capture

    # The guide's capture samples as transactions[], and nesting past what json.loads takes within MAX_LEN.
    found.append(json.dumps({**pending, "transactions": [guide_capture("F", "PROCESS_FAIL")]}).encode())
    found.append(b'{"notifyType":"PAYMENT_RESULT","x":' + b"[" * 4000 + b"]" * 4000 + b"}")

    for case in NOTIFY:
        body = case.build().body
        if 0 < len(body) <= MAX_LEN:
            found.append(body)
    return found


def mutate_json(data: bytes, rng: random.Random) -> bytes | None:
    """One value of a JSON object body replaced by a hostile one (a new key added now and then)."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    holders: list[Any] = []
    stack: list[Any] = [value]
    while stack and len(holders) < 200:
        item = stack.pop()
        if isinstance(item, dict | list):
            holders.append(item)
            stack.extend(item.values() if isinstance(item, dict) else item)
    target = rng.choice(holders)
    replacement = rng.choice(HOSTILE_VALUES)
    if isinstance(target, dict):
        keys = list(target) or ["notifyType"]
        key = rng.choice(keys) if rng.random() < 0.85 else rng.choice(["paymentAmount", "result", "transactions", "x"])
        target[key] = replacement
    elif target:
        target[rng.randrange(len(target))] = replacement
    else:
        target.append(replacement)
    try:
        return json.dumps(value, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")[:MAX_LEN]
    except (ValueError, RecursionError):
        return None


def parser() -> tuple[Callable[[bytes], None], list[Callable[..., Any]]]:
    """The function under test, and the functions it is made of (for line coverage)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from antom_django.api import notify
    from antom_django.client import money, types
    from antom_django.services import notifications, validation

    documented = {(400, "malformed_json"), (400, "json_too_deep")}

    def one_input(body: bytes) -> None:
        try:
            _, data = notify.parse_body(body)
        except notify.NotifyRejected as rejected:
            if (rejected.status, rejected.code) not in documented or not rejected.verified:
                raise AssertionError(f"undocumented refusal {rejected.status} {rejected.code}") from None
            return
        problem = validation.unusable(data)
        if problem:  # what hold_for_review reads: the ids alone
            ids = validation.known_ids(data)
            types.parse_notification(ids) or types.PaymentNotification.from_wire(ids)
            return
        note = types.parse_notification(data)
        notifications.dedupe_key(data)
        types.CardInfo.from_payment(data)
        if note is not None:
            for amount in ("paymentAmount", "captureAmount", "refundAmount"):
                if data.get(amount) is not None:
                    assert isinstance(money.Amount.from_wire(data[amount]), money.Amount)

    made_of = [
        notify.parse_body,
        *(f for f in vars(validation).values() if inspect.isfunction(f) and f.__module__ == validation.__name__),
        types.parse_notification,
        types.parse_time,
        types.parse_amount,
        types.Result.from_wire,
        types.CardInfo.from_payment,
        types.AntomNotification.from_wire,
        types.AntomNotification._common,
        types.PaymentNotification.from_wire,
        types.CaptureNotification.from_wire,
        types.RefundNotification.from_wire,
        money.Amount.from_wire,
        money.Amount.__post_init__,
        money.normalize_currency,
        notifications.dedupe_key,
    ]
    return one_input, made_of


def fuzz(argv: list[str]) -> None:
    """Run libFuzzer in this process (never returns)."""
    import atheris

    one_input, _ = parser()
    # Loaded already by django.setup(), so atheris.instrument_imports() would not see them: each function of
    # the app's modules is instrumented in place instead.
    instrumented = instrument_app(atheris)
    print(f"fuzz_notify: {instrumented} functions of antom_django instrumented", file=sys.stderr)

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if rng.random() < 0.5:
            mutated = mutate_json(data, rng)
            if mutated is not None:
                return mutated
        return atheris.Mutate(data, max_size)

    atheris.Setup([sys.argv[0], *argv], one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


def line_coverage(corpus: Path) -> tuple[int, int]:
    """Lines of the parser's functions that the corpus runs, of all their lines: every input replayed, traced."""
    one_input, made_of = parser()
    codes: set[Any] = set()
    pending = [inspect.unwrap(getattr(f, "__func__", f)).__code__ for f in made_of]
    while pending:
        code = pending.pop()
        codes.add(code)
        pending.extend(const for const in code.co_consts if inspect.iscode(const))
    lines = {(code, line) for code in codes for _, _, line in code.co_lines() if line and line != code.co_firstlineno}
    hit: set[tuple[Any, int]] = set()

    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            hit.add((frame.f_code, frame.f_lineno))
        return local

    def calls(frame: Any, event: str, arg: Any) -> Any:
        return local if frame.f_code in codes else None

    sys.settrace(calls)
    try:
        for path in sorted(corpus.iterdir()):
            one_input(path.read_bytes())
    finally:
        sys.settrace(None)
    return len(hit & lines), len(lines)


def instrument_app(atheris: Any) -> int:
    """``atheris.instrument_func`` on every function and method defined in a loaded ``antom_django`` module."""
    done: set[int] = set()

    def visit(function: Any, module: str) -> None:
        function = inspect.unwrap(getattr(function, "__func__", function))
        if inspect.isfunction(function) and function.__module__ == module and id(function.__code__) not in done:
            done.add(id(function.__code__))
            atheris.instrument_func(function)

    for name, module in list(sys.modules.items()):
        if not name.startswith("antom_django") or module is None:
            continue
        for value in list(vars(module).values()):
            if inspect.isclass(value) and value.__module__ == name:
                for member in list(vars(value).values()):
                    visit(member, name)
                    if isinstance(member, property):
                        for accessor in (member.fget, member.fset):
                            if accessor is not None:
                                visit(accessor, name)
            else:
                visit(value, name)
    return len(done)


STATS = re.compile(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/")


def run(seconds: int, extra: list[str]) -> int:
    """The fuzzer in a child process over a fresh corpus directory of seeds; a summary of what it did."""
    work = Path(tempfile.mkdtemp(prefix="antom-fuzz-"))
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        for index, seed in enumerate(seeds()):
            (corpus / f"seed-{index:04d}").write_bytes(seed)
        flags = [
            f"-max_total_time={seconds}",
            f"-max_len={MAX_LEN}",
            f"-artifact_prefix={work}/",
            "-print_final_stats=1",
        ]
        command = [sys.executable, str(Path(__file__).resolve()), "--child", "--", *flags, *extra, str(corpus)]
        started = time.monotonic()
        child = subprocess.run(command, capture_output=True, text=True, errors="replace", cwd=work)
        elapsed = time.monotonic() - started
        log = child.stderr
        stats = STATS.findall(log)
        runs = re.search(r"Done (\d+) runs in (\d+) second", log)
        crashes = sorted(work.glob("crash-*")) + sorted(work.glob("timeout-*")) + sorted(work.glob("oom-*"))
        if child.returncode != 0 or crashes or not stats:
            print(log[-6000:], file=sys.stderr)
            for path in crashes:
                print(f"{path.name}: {path.read_bytes()[:2000]!r}", file=sys.stderr)
            print("fuzz_notify: the parser broke its invariant (above)", file=sys.stderr)
            return 1
        executions, cov, ft, corp = stats[-1]
        total = int(runs.group(1)) if runs else int(executions)
        covered, lines = line_coverage(corpus)
        print(
            f"fuzz_notify: {total:,} executions in {elapsed:.0f} s ({total / elapsed:,.0f}/s), no crash; "
            f"libFuzzer coverage {cov} edges / {ft} features, corpus {corp} inputs "
            f"({len(list(corpus.iterdir()))} files with the seeds); "
            f"the corpus runs {covered} of the parser's {lines} lines ({covered / lines:.0%})"
        )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    if "--child" in sys.argv:
        fuzz(sys.argv[sys.argv.index("--") + 1 :])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_SECONDS} s, for make test")
    parser.add_argument("--seconds", type=int, help=f"time budget (default {FULL_SECONDS}, --smoke {SMOKE_SECONDS})")
    parser.add_argument("libfuzzer", nargs="*", help="libFuzzer flags, after --: -runs=N, -seed=N, ...")
    args = parser.parse_args()
    seconds = args.seconds or (SMOKE_SECONDS if args.smoke else FULL_SECONDS)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("fuzz_notify: atheris is not installed (pip install atheris, or the dev extra)", file=sys.stderr)
        return 1
    return run(seconds, args.libfuzzer)


if __name__ == "__main__":
    sys.exit(main())
