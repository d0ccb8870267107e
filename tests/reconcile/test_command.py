"""``manage.py antom_reconcile`` against the sandbox simulator over HTTP, with differences injected on our side
and on Antom's."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from antom_django import services
from antom_django.client import Amount
from antom_django.models import Capture, Payment
from antom_django.sandbox import SandboxServer
from tests.api.test_unknown_outcomes import fault

from .helpers import SAMPLE_DAY, SAMPLES, capture, payment

P = Payment.Status
TODAY = timezone.now().date()


def paid(sandbox: SandboxServer, reference: str, value: int = 4200, *, sync: bool = True) -> Payment:
    """A payment the buyer paid at the simulator; synced here unless ``sync`` is false (then PENDING)."""
    created = services.start_payment(amount=Amount("SGD", value), reference_order_id=reference, description=reference)
    assert sandbox.pay(created.session_data)["status"] == "SUCCESS"
    return services.sync_payment(created) if sync else created


def run(*args: str, tty: bool = False) -> tuple[int, str, str]:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return tty

    out, err = io.StringIO(), Terminal()
    try:
        call_command("antom_reconcile", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def counts(output: str) -> dict[str, int]:
    """The summary table's rows."""
    found = {}
    for line in output.splitlines():
        label, _, number = line.rstrip().rpartition("  ")
        if number.strip().isdigit() and label.strip():
            found[label.strip()] = int(number)
    return found


@pytest.fixture
def differences(antom_sandbox: SandboxServer) -> dict[str, Payment]:
    """Three injected differences and one payment that agrees."""
    behind = paid(antom_sandbox, "behind", sync=False)  # SUCCESS at Antom, PENDING here
    assert behind.status == P.PENDING
    captured_there = paid(antom_sandbox, "captured-there")  # Antom has a capture we never asked for
    antom_sandbox.client().capture(
        capture_request_id="cap_made_elsewhere", payment_id=captured_there.payment_id, amount=Amount("SGD", 1000)
    )
    mismatch = paid(antom_sandbox, "mismatch")  # our amount is not Antom's
    Payment.objects.filter(pk=mismatch.pk).update(amount=5000)
    agrees = paid(antom_sandbox, "agrees")
    return {"behind": behind, "captured_there": captured_there, "mismatch": mismatch, "agrees": agrees}


@pytest.mark.django_db
def test_differences_are_listed_counted_and_exit_1_without_changing_anything(
    differences: dict[str, Payment],
) -> None:
    code, out, err = run("--since", TODAY.isoformat())
    assert code == 1
    table = counts(out)
    assert table["Antom is ahead (a sync applies it)"] == 1
    assert table["Antom has it, we do not"] == 1
    assert table["Amount or currency differs"] == 1
    assert table["Antom contradicts us"] == 0
    assert table["Total"] == 3
    assert "4 payment(s) checked" in out
    assert f"{differences['behind'].payment_request_id}  payment: Antom is ahead" in out
    assert "capture cap_made_elsewhere: Antom has it, we do not" in out
    assert "3 difference(s) remain" in err
    assert "\r[" not in err  # not a terminal: no progress bar
    assert Payment.objects.get(pk=differences["behind"].pk).status == P.PENDING
    assert not Capture.objects.filter(capture_request_id="cap_made_elsewhere").exists()
    assert not Payment.objects.filter(needs_review=True).exists()


@pytest.mark.django_db
def test_apply_settles_what_a_sync_can_and_leaves_the_rest(differences: dict[str, Payment]) -> None:
    code, out, _ = run("--since", TODAY.isoformat(), "--apply")
    assert code == 1  # the amount mismatch stays: a person must look
    assert counts(out)["Total"] == 1
    assert counts(out)["Amount or currency differs"] == 1
    assert "3 synced" in out
    assert Payment.objects.get(pk=differences["behind"].pk).status == P.AUTHORIZED
    adopted = Capture.objects.get(capture_request_id="cap_made_elsewhere")
    assert (adopted.status, adopted.amount) == (Capture.Status.SUCCEEDED, 1000)
    assert Payment.objects.get(pk=differences["captured_there"].pk).status == P.PARTIALLY_CAPTURED
    flagged = Payment.objects.get(pk=differences["mismatch"].pk)
    assert flagged.needs_review and "amount" in flagged.review_reason
    Payment.objects.filter(pk=flagged.pk).update(amount=4200)  # the operator puts it right
    code, out, _ = run("--since", TODAY.isoformat())
    assert (code, counts(out)["Total"]) == (0, 0)


@pytest.mark.django_db
def test_a_progress_bar_on_a_terminal(antom_sandbox: SandboxServer) -> None:
    for reference in ("a", "b", "c"):
        paid(antom_sandbox, reference)
    code, out, err = run("--since", TODAY.isoformat(), tty=True)
    assert code == 0
    assert "\r[##########                    ] 1/3" in err
    assert err.endswith("] 3/3\n")
    assert counts(out)["Total"] == 0


@pytest.mark.django_db
def test_the_range_is_by_creation_day(antom_sandbox: SandboxServer) -> None:
    old = paid(antom_sandbox, "old", sync=False)
    Payment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    assert run("--since", TODAY.isoformat())[0] == 0
    assert run("--since", (TODAY - timedelta(days=3)).isoformat(), "--until", yesterday)[0] == 1


@pytest.mark.django_db
def test_an_unanswered_inquiry_is_a_difference(antom_sandbox: SandboxServer) -> None:
    paid(antom_sandbox, "a")
    with fault("http=503"):
        code, out, _ = run("--since", TODAY.isoformat())
    assert code == 1
    assert counts(out)["Antom did not answer"] == 1


@pytest.mark.django_db
def test_a_payment_antom_never_heard_of(antom_sandbox: SandboxServer) -> None:
    payment("pay_nowhere", 4200, "SGD", P.AUTHORIZED, payment_id="")
    code, out, _ = run("--since", TODAY.isoformat())
    assert code == 1
    assert counts(out)["We have it, Antom does not"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-02-01", "--until", "2026-01-01"], "is after --until"),
        ([], "--since is required"),
        (["--no-api"], "--no-api needs --report"),
        (["--report", "/nonexistent.csv", "--no-api"], "cannot read"),
    ],
)
@pytest.mark.django_db
def test_bad_arguments_exit_2(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message) as caught:
        call_command("antom_reconcile", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert caught.value.returncode == 2


@pytest.mark.django_db
def test_a_report_file_from_the_command(tmp_path: Any) -> None:
    first = payment("pay_sample_001", 4200, "SGD", P.SUCCEEDED)
    capture(first, "cap_sample_001", 4200)
    code, out, _ = run("--report", str(SAMPLES / "transactions-gbk.csv"))  # no --since: the file only
    assert code == 1
    table = counts(out)
    assert table["Matched"] == 2
    assert table["Settled by Antom, unknown to us"] == 5  # 002's and 003's authorizations, captures, refund
    assert table["Not compared: DISPUTE row"] == 1
    assert "line 4: AUTHORIZATION pay_sample_002" in out
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"transactionType,transactionRequestId,transactionAmountValue,transactionCurrency\r\n")
    with pytest.raises(CommandError, match="no closing <END> line"):
        call_command("antom_reconcile", "--report", str(bad), "--no-api", stdout=io.StringIO())
    assert SAMPLE_DAY.date().isoformat() in out


@pytest.mark.django_db
def test_the_export_from_the_command(tmp_path: Any) -> None:
    first = payment("pay_1", 4200, "SGD", P.SUCCEEDED)
    capture(first, "cap_1", 4200)
    target = tmp_path / "books.csv"
    code, out, _ = run(
        "--since",
        TODAY.isoformat(),
        "--no-api",
        "--report",
        str(SAMPLES / "transactions.xlsx"),
        "--export",
        str(target),
    )
    assert code == 1
    assert "Exported 2 row(s)" in out
    assert target.read_text().splitlines()[1].startswith("payment,")
