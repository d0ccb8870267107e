"""The reconciliation page with the Django test client: permissions, the lists, the check, the report import,
the export and one-click resolutions against the sandbox simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from antom_django import services, signals
from antom_django.client import Amount, AntomOutcomeUnknown
from antom_django.models import Capture, Notification, Payment, PaymentEvent, Refund
from antom_django.sandbox import SandboxServer
from tests.api.test_unknown_outcomes import fault
from tests.domain.helpers import unsent_authorization

from .helpers import SAMPLE_FILES, SAMPLES, capture, grant, payment, refund

P = Payment.Status
URL = "/admin/antom_django/payment/reconcile/"
TODAY = timezone.now().date()
ALL = ("view_payment", "reconcile_payment", "sync_payment", "retry_payment", "clear_review", "export_payment")


@pytest.fixture
def login(db: None) -> Callable[..., Client]:
    count = 0

    def sign_in(*codenames: str) -> Client:
        nonlocal count
        count += 1
        user = User.objects.create_user(f"staff{count}", password="pw", is_staff=True)
        grant(user, *codenames)
        client = Client()
        client.force_login(User.objects.get(pk=user.pk))
        return client

    return sign_in


@pytest.fixture
def operator(login: Callable[..., Client]) -> Client:
    return login(*ALL)


def resolve(action: str, pk: int) -> str:
    return f"{URL}{action}/{pk}/"


def paid_here_pending(sandbox: SandboxServer, reference: str = "order-1") -> Payment:
    created = services.start_payment(amount=Amount("SGD", 4200), reference_order_id=reference, description="Mug")
    assert sandbox.pay(created.session_data)["status"] == "SUCCESS"
    return created


def text(response: Any) -> str:
    return response.content.decode()


# -- permissions ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_need_the_reconcile_permission(login: Callable[..., Client]) -> None:
    assert Client().get(URL).status_code == 302  # to the admin's login
    assert login("view_payment").get(URL).status_code == 403
    response = login("reconcile_payment").get(URL)
    assert response.status_code == 200
    page = text(response)
    assert "Needs a person" in page and "Check against Antom" in page and "Antom report file" in page
    assert "Export CSV" not in page  # no export permission: no button
    assert ">Sync<" not in page


@pytest.mark.django_db
def test_each_resolution_needs_its_own_permission(login: Callable[..., Client]) -> None:
    flagged = payment("pay_flagged", 4200, needs_review=True, review_reason="odd")
    viewer = login("reconcile_payment")
    assert viewer.get(resolve("sync", flagged.pk)).status_code == 403
    assert viewer.post(resolve("clear", flagged.pk)).status_code == 403
    assert login("reconcile_payment", "sync_payment").get(resolve("sync", flagged.pk)).status_code == 200
    assert login("sync_payment").get(resolve("sync", flagged.pk)).status_code == 403  # and the page's own
    assert login(*ALL).get(resolve("nonsense", flagged.pk)).status_code == 404
    assert login(*ALL).get(resolve("sync", 999999)).status_code == 404
    assert login("reconcile_payment").get(f"{URL}export/?since={TODAY}&until={TODAY}").status_code == 403


# -- the lists --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_everything_that_needs_a_person_is_listed(operator: Client) -> None:
    payment("pay_flagged", 4200, needs_review=True, review_reason="Antom's amount 50.00 SGD differs from ours")
    Notification.objects.create(
        body="{}",
        notify_type="PAYMENT_RESULT",
        outcome=Notification.Outcome.UNKNOWN_PAYMENT,
        error="no payment pay_elsewhere",
    )
    stuck = payment("pay_stuck", 100, status=P.PENDING, payment_id="", paid_at=None)
    Payment.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    fresh = payment("pay_fresh_pending", 100, status=P.PENDING, payment_id="", paid_at=None)
    owner = payment("pay_owner", 4200, status=P.PARTIALLY_CAPTURED)
    capture(owner, "cap_done", 1000)
    capture(owner, "cap_unknown", 1000, status=Capture.Status.PENDING, at=None)
    refund(owner, "ref_unknown", 500, status=Refund.Status.PENDING, at=None)
    payment("pay_cancelling", 4200, cancel_requested_at=timezone.now())
    payment("pay_cancelled", 4200, status=P.CANCELLED, cancel_requested_at=timezone.now())  # answered: not in flight
    page = text(operator.get(URL))
    assert "pay_cancelled" not in page
    assert "Antom&#x27;s amount 50.00 SGD differs from ours" in page
    assert "no payment pay_elsewhere" in page
    notification = Notification.objects.get()
    assert f'href="/admin/antom_django/notification/{notification.pk}/change/"' in page
    Notification.objects.filter(pk=notification.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert "no payment pay_elsewhere" not in text(operator.get(URL))  # outside the period shown
    assert "pay_stuck" in page and fresh.payment_request_id not in page.split('id="stuck"')[1].split("</table>")[0]
    assert "cap_unknown" in page and "cap_done" not in page
    assert "ref_unknown" in page and "pay_cancelling" in page
    assert resolve("retry-capture", Capture.objects.get(capture_request_id="cap_unknown").pk) in page
    assert resolve("retry-refund", Refund.objects.get(refund_request_id="ref_unknown").pk) in page
    assert page.count('class="count hot"') == 7  # six lists and the total (no signals left unsent)
    assert f'href="/admin/antom_django/payment/{owner.pk}/change/"' in page


@pytest.mark.django_db
def test_the_dashboard_is_an_inline_svg_chart(operator: Client) -> None:
    payment("p1", 4200, status=P.AUTHORIZED)
    payment("p2", 1500, "JPY", status=P.FAILED)
    page = text(operator.get(URL))
    dashboard = page.split('id="dashboard"')[1].split("</section>")[0]
    chart = dashboard.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert chart.count("<rect") == len(P.values)
    assert "1 · 42.00 SGD" in chart and "1 · 1500 JPY" in chart
    assert "<script" not in dashboard
    assert "<td>SGD</td><td>1</td><td>42.00 SGD</td>" in dashboard


# -- one-click resolutions against the simulator ---------------------------------------------------------------


@pytest.mark.django_db
def test_sync_is_confirmed_then_applied(operator: Client, antom_sandbox: SandboxServer) -> None:
    pending = paid_here_pending(antom_sandbox)
    confirm = operator.get(resolve("sync", pending.pk) + f"?next={URL}")
    assert confirm.status_code == 200 and "Yes, sync with antom" in text(confirm)
    assert Payment.objects.get(pk=pending.pk).status == P.PENDING  # a GET changes nothing
    done = operator.post(resolve("sync", pending.pk), {"next": URL}, follow=True)
    assert Payment.objects.get(pk=pending.pk).status == P.AUTHORIZED
    assert f"Synced {pending.payment_request_id}: it is AUTHORIZED." in text(done)
    event = Payment.objects.get(pk=pending.pk).events.filter(to_status=P.AUTHORIZED).get()
    assert event.source == "ADMIN" and event.user is not None


@pytest.mark.django_db
def test_clear_review_only_when_antom_agrees(operator: Client, antom_sandbox: SandboxServer) -> None:
    agrees = services.sync_payment(paid_here_pending(antom_sandbox, "order-1"))
    Payment.objects.filter(pk=agrees.pk).update(needs_review=True, review_reason="checked by hand")
    differs = services.sync_payment(paid_here_pending(antom_sandbox, "order-2"))
    Payment.objects.filter(pk=differs.pk).update(amount=5000, needs_review=True, review_reason="amount")
    response = operator.post(resolve("clear", agrees.pk), follow=True)
    assert "Antom agrees, so the review flag was cleared" in text(response)
    assert not Payment.objects.get(pk=agrees.pk).needs_review
    response = operator.post(resolve("clear", differs.pk), follow=True)
    assert "Not cleared: Antom still differs (payment: ours 50.00 SGD, Antom 42.00 SGD)" in text(response)
    assert Payment.objects.get(pk=differs.pk).needs_review


@pytest.mark.django_db
def test_retry_an_unknown_capture_and_refund(operator: Client, antom_sandbox: SandboxServer) -> None:
    authorized = services.sync_payment(paid_here_pending(antom_sandbox))
    with fault("http=503"):
        row = services.capture(authorized, 4200)
    assert row.status == Capture.Status.PENDING
    page = text(operator.get(URL))
    assert row.capture_request_id in page
    operator.post(resolve("retry-capture", row.pk))
    assert Capture.objects.get(pk=row.pk).status == Capture.Status.SUCCEEDED
    assert Payment.objects.get(pk=authorized.pk).captured_amount == 4200
    operator.post(resolve("retry-capture", row.pk))  # a second click: Antom answers the same, nothing moves twice
    assert Capture.objects.filter(payment=authorized).count() == 1
    assert Payment.objects.get(pk=authorized.pk).captured_amount == 4200
    with fault("http=503"):
        back = services.refund(Payment.objects.get(pk=authorized.pk), 1000)
    assert back.status == Refund.Status.PENDING
    response = operator.post(resolve("retry-refund", back.pk), follow=True)
    assert Refund.objects.get(pk=back.pk).status == Refund.Status.SUCCEEDED
    assert f"Refund {back.refund_request_id} is SUCCEEDED." in text(response)


@pytest.mark.django_db
def test_send_a_cancel_in_flight_again(operator: Client, antom_sandbox: SandboxServer) -> None:
    authorized = services.sync_payment(paid_here_pending(antom_sandbox))
    with fault("http=503"), pytest.raises(AntomOutcomeUnknown):
        services.cancel(authorized)
    assert Payment.objects.get(pk=authorized.pk).cancel_requested_at is not None
    with fault("http=503"):
        response = operator.post(resolve("resend-cancel", authorized.pk), follow=True)
    assert "Antom&#x27;s answer is unknown" in text(response)
    operator.post(resolve("resend-cancel", authorized.pk))
    assert Payment.objects.get(pk=authorized.pk).status == P.CANCELLED


@pytest.mark.django_db
def test_signals_left_unsent_are_listed_and_sent_once(operator: Client) -> None:
    sent: list[tuple[str, int]] = []

    def receiver(sender: Any, event: PaymentEvent, **kwargs: Any) -> None:
        sent.append((kwargs["signal"], event.pk))

    owner = payment("pay_unsent", 4200, status=P.AUTHORIZED)
    event = unsent_authorization(owner, timedelta(seconds=30))  # its process may still be sending
    assert "pay_unsent" not in text(operator.get(URL)).split('id="signals"')[1]
    PaymentEvent.objects.filter(pk=event.pk).update(signal_after=timezone.now() - timedelta(minutes=5))
    page = text(operator.get(URL)).split('id="signals"')[1]
    assert "pay_unsent" in page and "payment_status_changed,payment_authorized" in page
    assert resolve("send-signals", event.pk) in page
    assert operator.get(resolve("send-signals", event.pk)).status_code == 200  # the confirmation
    signals.payment_authorized.connect(receiver, dispatch_uid="reconcile-test")
    signals.payment_status_changed.connect(receiver, dispatch_uid="reconcile-test")
    try:
        response = operator.post(resolve("send-signals", event.pk), follow=True)
        assert "Sent payment_status_changed, payment_authorized for pay_unsent" in text(response)
        again = operator.post(resolve("send-signals", event.pk), follow=True)
    finally:
        signals.payment_authorized.disconnect(dispatch_uid="reconcile-test")
        signals.payment_status_changed.disconnect(dispatch_uid="reconcile-test")
    assert "sent already" in text(again)
    assert sent == [(signals.payment_status_changed, event.pk), (signals.payment_authorized, event.pk)]
    event.refresh_from_db()
    assert (event.signals, event.signal_after) == ("", None)
    assert "pay_unsent" not in text(operator.get(URL)).split('id="signals"')[1]


@pytest.mark.django_db
def test_next_must_stay_on_this_site(operator: Client) -> None:
    flagged = payment("pay_x", 100, status=P.FAILED, payment_id="", paid_at=None)
    response = operator.post(resolve("resend-cancel", flagged.pk), {"next": "https://evil.example/"})
    assert response["Location"] == URL


# -- check against Antom ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_check_lists_differences_without_changing_anything(operator: Client, antom_sandbox: SandboxServer) -> None:
    pending = paid_here_pending(antom_sandbox, "order-1")
    agrees = services.sync_payment(paid_here_pending(antom_sandbox, "order-2"))
    response = operator.post(f"{URL}check/", {"since": TODAY, "until": TODAY}, follow=True)
    page = text(response)
    assert "Checked 2 of 2 payments against Antom: 1 difference(s)." in page
    table = page.split('id="differences"')[1].split("</table>")[0]
    assert pending.payment_request_id in table and agrees.payment_request_id not in table
    assert "Antom is ahead (a sync applies it)" in table
    assert resolve("sync", pending.pk) in table
    assert Payment.objects.get(pk=pending.pk).status == P.PENDING


@pytest.mark.django_db
def test_a_difference_a_retry_settles_has_a_retry_button(
    operator: Client, login: Callable[..., Client], antom_sandbox: SandboxServer
) -> None:
    authorized = services.sync_payment(paid_here_pending(antom_sandbox))
    with fault("http=503"):  # refused before the simulator saw it: Antom has no record of this capture
        row = services.capture(authorized, 1000)
    done = services.capture(Payment.objects.get(pk=authorized.pk), 1000)
    # Succeeded here, unknown to Antom: a difference too, but no retry (it is not PENDING).
    Capture.objects.filter(pk=done.pk).update(capture_request_id="capture-unknown-to-antom", capture_id="")
    page = text(operator.post(f"{URL}check/", {"since": TODAY, "until": TODAY}, follow=True))
    table = page.split('id="differences"')[1].split("</table>")[0]
    assert f"capture {row.capture_request_id}" in table and "capture capture-unknown-to-antom" in table
    assert table.count(">Retry</a>") == 1 and resolve("retry-capture", row.pk) in table
    assert ">Retry</a>" not in text(login("view_payment", "reconcile_payment", "sync_payment").get(URL))
    assert Capture.objects.get(pk=row.pk).status == Capture.Status.PENDING  # the check changed nothing
    confirm = operator.get(resolve("retry-capture", row.pk))
    assert confirm.status_code == 200 and "Retry the capture" in text(confirm)
    response = operator.post(resolve("retry-capture", row.pk), {"next": URL}, follow=True)
    assert f"Capture {row.capture_request_id} is SUCCEEDED." in text(response)
    assert Payment.objects.get(pk=authorized.pk).captured_amount == 2000


@pytest.mark.django_db
def test_check_runs_in_bounded_batches(operator: Client, antom_sandbox: SandboxServer, monkeypatch: Any) -> None:
    monkeypatch.setattr("antom_django.admin.reconcile.CHECK_LIMIT", 2)
    for n in range(3):
        paid_here_pending(antom_sandbox, f"order-{n}")
    page = text(operator.post(f"{URL}check/", {"since": TODAY, "until": TODAY}, follow=True))
    assert "payments 1–2 of 3" in page and 'name="offset" value="2"' in page
    page = text(operator.post(f"{URL}check/", {"since": TODAY, "until": TODAY, "offset": 2}, follow=True))
    assert "payments 3–3 of 3" in page and 'name="offset"' not in page


@pytest.mark.django_db
def test_check_with_bad_days_says_so(operator: Client) -> None:
    page = text(operator.post(f"{URL}check/", {"since": "2026-02-02", "until": "2026-02-01"}, follow=True))
    assert "Check against Antom: The first day is after the last day." in page
    page = text(operator.post(f"{URL}check/", {"since": "2026-02-02"}, follow=True))
    assert "Check against Antom: until: This field is required." in page


# -- report import ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_a_report_upload_shows_the_three_lists(operator: Client, name: str) -> None:
    first = payment("pay_sample_001", 4200, "SGD", P.SUCCEEDED)
    capture(first, "cap_sample_001", 4100)  # Antom captured 42.00
    local = payment("pay_local_only", 999, "SGD", P.AUTHORIZED)
    upload = SimpleUploadedFile(name, (SAMPLES / name).read_bytes())
    page = text(operator.post(f"{URL}report/", {"report": upload}, follow=True))
    assert f"Imported {name}: 1 matched, 5 unknown to us, 1 not settled by Antom, 1 amount difference(s)." in page
    unknown = page.split('id="report-unknown"')[1].split('id="report-unsettled"')[0]
    assert "cap_sample_003" in unknown and "ref_sample_002" in unknown
    unsettled = page.split('id="report-unsettled"')[1].split('id="report-amounts"')[0]
    assert local.payment_request_id in unsettled
    amounts = page.split('id="report-amounts"')[1]
    assert "41.00 SGD" in amounts and "42.00 SGD" in amounts
    assert "1 DISPUTE row not compared" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"transactionType,transactionRequestId\r\n<END>\r\n", "lacks transactionAmountValue"),
        (b"\xff\xfe\xfd", "neither UTF-8 nor GBK"),
        ((SAMPLES / "transactions-utf8.csv").read_bytes().replace(b"<END>", b""), "no closing &lt;END&gt; line"),
    ],
)
def test_a_bad_report_is_an_error_message_not_a_500(operator: Client, content: bytes, message: str) -> None:
    response = operator.post(f"{URL}report/", {"report": SimpleUploadedFile("r.csv", content)}, follow=True)
    assert response.status_code == 200
    assert "Report import: r.csv:" in text(response) and message in text(response)


@pytest.mark.django_db
def test_a_report_upload_without_a_file_or_with_half_a_period(operator: Client) -> None:
    page = text(operator.post(f"{URL}report/", {}, follow=True))
    assert "Report import: choose a report file" in page
    upload = SimpleUploadedFile("r.csv", (SAMPLES / "transactions-utf8.csv").read_bytes())
    page = text(operator.post(f"{URL}report/", {"report": upload, "since": "2026-01-15"}, follow=True))
    assert "Report import: give both days of the period" in page


@pytest.mark.django_db
def test_a_report_with_a_period_given(operator: Client) -> None:
    upload = SimpleUploadedFile("r.csv", (SAMPLES / "transactions-utf8.csv").read_bytes())
    data = {"report": upload, "since": "2026-01-14", "until": "2026-01-16"}
    page = text(operator.post(f"{URL}report/", data, follow=True))
    assert "2026-01-14 – 2026-01-16: 0 matched" in page


# -- export ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_export_streams_csv(operator: Client) -> None:
    owner = payment("pay_1", 4200, "SGD", P.SUCCEEDED)
    capture(owner, "cap_1", 4200)
    response = operator.get(f"{URL}export/?since={TODAY}&until={TODAY}")
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="antom-{TODAY}-{TODAY}.csv"' in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("kind,created_at")
    assert [line.split(",")[0] for line in lines[1:]] == ["payment", "capture"]
    assert ",SGD,42.00," in lines[1]
    assert operator.get(f"{URL}export/?since=nope").status_code == 302
