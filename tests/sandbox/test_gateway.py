"""The project's AntomClient against the live simulator over HTTP: every operation and its errors."""

from __future__ import annotations

import base64
import json

import pytest

from antom_django.client import Amount, AntomClient, AntomFailed, AntomUnknownResult
from antom_django.client.keys import generate_private_key
from antom_django.sandbox import SandboxServer
from antom_django.sandbox.receiver import NotificationReceiver

from .conftest import create_session, new_id


def paid(sandbox: SandboxServer, client: AntomClient, card: str = "4242424242424242", **kwargs: object) -> str:
    session = create_session(client, **kwargs)  # type: ignore[arg-type]
    outcome = sandbox.pay(session.payment_session_data, card)
    assert outcome["status"] == "SUCCESS"
    return str(outcome["paymentId"])


def _request_id(sandbox: SandboxServer, session: object) -> str:
    sid = session.payment_session_id  # type: ignore[attr-defined]
    with sandbox.sim.store.lock:
        payment_id = sandbox.sim.store.sessions[sid].payment_id
        return sandbox.sim.store.payments[payment_id].payment_request_id


def test_create_payment_session(sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client)
    assert session.result.status == "S"
    assert session.payment_session_id
    assert session.normal_url == f"{sandbox.url}/checkout/{session.payment_session_id}"
    blob, region, tag = session.payment_session_data.split("&&")
    info = json.loads(base64.b64decode(blob))
    assert info == {"sessionId": session.payment_session_id, "origin": sandbox.url, "environment": "sandbox"}
    assert session.payment_session_expiry_time is not None
    assert session.payment_session_expiry_time.utcoffset() is not None


def test_production_path_is_served_too(sandbox: SandboxServer) -> None:
    with sandbox.client(sandbox=False) as prod_path_client:
        assert prod_path_client.wire_path("/ams/api/v1/payments/capture") == "/ams/api/v1/payments/capture"
        session = create_session(prod_path_client)
    assert session.result.code == "SUCCESS"


def test_same_request_replayed_gets_the_same_answer(client: AntomClient) -> None:
    request_id = new_id("pay")
    same = {"request_id": request_id, "reference_order_id": "order-1"}
    first = create_session(client, amount=Amount("SGD", 100), **same)
    second = create_session(client, amount=Amount("SGD", 100), **same)
    assert second.payment_session_id == first.payment_session_id
    with pytest.raises(AntomFailed) as exc:
        create_session(client, amount=Amount("SGD", 200), **same)
    assert exc.value.result_code == "REPEAT_REQ_INCONSISTENT"


def test_inquiry_before_and_after_payment(sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client)
    request_id = _request_id(sandbox, session)
    before = client.inquiry_payment(payment_request_id=request_id)
    assert before.payment_status == "PROCESSING"
    assert before.card is None
    sandbox.pay(session.payment_session_data, "5555555555554444")
    after = client.inquiry_payment(payment_id=before.payment_id)
    assert after.payment_status == "SUCCESS"
    assert after.payment_result_code == "SUCCESS"
    assert after.payment_amount == Amount("SGD", 4200)
    assert after.card is not None
    assert (after.card.brand, after.card.funding, after.card.issuing_country, after.card.last4) == (
        "MASTERCARD",
        "DEBIT",
        "SG",
        "4444",
    )
    assert after.raw["paymentResultInfo"]["cardNo"] == "************4444"
    assert after.auth_expiry_time is not None and after.payment_time is not None
    assert (after.auth_expiry_time - after.payment_time).days == 7
    assert after.transactions == ()


def test_unknown_payment(client: AntomClient) -> None:
    with pytest.raises(AntomFailed) as exc:
        client.inquiry_payment(payment_request_id="never-created")
    assert exc.value.result_code == "ORDER_NOT_EXIST"


def test_automatic_capture_for_non_authorization_payments(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client, manual=False)
    inquiry = client.inquiry_payment(payment_id=payment_id)
    assert inquiry.payment_status == "SUCCESS"
    assert inquiry.auth_expiry_time is None
    [capture] = inquiry.transactions
    assert (capture.type, capture.status, capture.amount) == ("CAPTURE", "SUCCESS", Amount("SGD", 4200))
    with pytest.raises(AntomFailed) as exc:
        client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 1))
    assert exc.value.result_code == "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT"


def test_capture_mode_manual_without_is_authorization(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client, manual=False, capture_mode="MANUAL")
    inquiry = client.inquiry_payment(payment_id=payment_id)
    assert inquiry.transactions == ()
    assert inquiry.auth_expiry_time is not None


def test_partial_and_multiple_captures(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client)
    first = client.capture(capture_request_id="cap-1", payment_id=payment_id, amount=Amount("SGD", 1200))
    second = client.capture(capture_request_id="cap-2", payment_id=payment_id, amount=Amount("SGD", 2000))
    assert first.capture_id != second.capture_id
    assert first.capture_amount == Amount("SGD", 1200)
    again = client.capture(capture_request_id="cap-1", payment_id=payment_id, amount=Amount("SGD", 1200))
    assert again.capture_id == first.capture_id
    with pytest.raises(AntomFailed) as exc:
        client.capture(capture_request_id="cap-1", payment_id=payment_id, amount=Amount("SGD", 1300))
    assert exc.value.result_code == "REPEAT_REQ_INCONSISTENT"
    with pytest.raises(AntomFailed) as exc:
        client.capture(capture_request_id="cap-3", payment_id=payment_id, amount=Amount("SGD", 1001))
    assert exc.value.result_code == "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT"
    last = client.capture(capture_request_id="cap-4", payment_id=payment_id, amount=Amount("SGD", 1000))
    txs = client.inquiry_payment(payment_id=payment_id).transactions
    assert [(t.type, t.request_id, t.id, t.amount.value if t.amount else None) for t in txs] == [
        ("CAPTURE", "cap-1", first.capture_id, 1200),
        ("CAPTURE", "cap-2", second.capture_id, 2000),
        ("CAPTURE", "cap-4", last.capture_id, 1000),
    ]


def test_full_capture_and_wrong_currency(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client)
    with pytest.raises(AntomFailed) as exc:
        client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("USD", 4200))
    assert exc.value.result_code == "CURRENCY_NOT_SUPPORT"
    full = client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 4200))
    assert full.result.status == "S"


def test_is_last_capture_closes_the_authorization(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client)
    client.capture(
        capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 100), is_last_capture=True
    )
    with pytest.raises(AntomFailed) as exc:
        client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 100))
    assert exc.value.result_code == "ORDER_STATUS_INVALID"


def test_capture_after_auth_expiry(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client)
    sandbox.advance_clock(7 * 24 * 3600 + 1)
    with pytest.raises(AntomFailed) as exc:
        client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 4200))
    assert exc.value.result_code == "AUTH_EXPIRED"


def test_cancel_voids_an_authorization(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client)
    cancelled = client.cancel(payment_id=payment_id)
    assert cancelled.cancel_time is not None
    assert client.cancel(payment_id=payment_id).cancel_time == cancelled.cancel_time
    inquiry = client.inquiry_payment(payment_id=payment_id)
    assert inquiry.payment_status == "CANCELLED"
    assert [t.type for t in inquiry.transactions] == ["CANCEL"]
    with pytest.raises(AntomFailed) as exc:
        client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 4200))
    assert exc.value.result_code == "AUTH_CANCELLED"


def test_cancel_after_capture_is_refused(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client)
    client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 100))
    with pytest.raises(AntomFailed) as exc:
        client.cancel(payment_id=payment_id)
    assert exc.value.result_code == "ORDER_STATUS_INVALID"


def test_cancel_before_the_buyer_pays_closes_the_session(sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client)
    client.cancel(payment_request_id=_request_id(sandbox, session))
    answer = sandbox.pay(session.payment_session_data)
    assert answer["code"] == "SDK_PAYMENT_ERROR"


def test_refunds(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client)
    with pytest.raises(AntomFailed) as exc:
        client.refund(refund_request_id=new_id("ref"), payment_id=payment_id, amount=Amount("SGD", 100))
    assert exc.value.result_code == "REFUND_AMOUNT_EXCEED"  # nothing captured yet
    client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 3000))
    partial = client.refund(
        refund_request_id="ref-1", payment_id=payment_id, amount=Amount("SGD", 1000), reason="one mug broke"
    )
    assert partial.refund_amount == Amount("SGD", 1000)
    assert (
        client.refund(
            refund_request_id="ref-1", payment_id=payment_id, amount=Amount("SGD", 1000), reason="one mug broke"
        ).refund_id
        == partial.refund_id
    )
    with pytest.raises(AntomFailed) as exc:
        client.refund(refund_request_id="ref-1", payment_id=payment_id, amount=Amount("SGD", 999))
    assert exc.value.result_code == "REPEAT_REQ_INCONSISTENT"
    with pytest.raises(AntomFailed) as exc:
        client.refund(refund_request_id="ref-2", payment_id=payment_id, amount=Amount("SGD", 2001))
    assert exc.value.result_code == "REFUND_AMOUNT_EXCEED"
    rest = client.refund(refund_request_id="ref-3", payment_id=payment_id, amount=Amount("SGD", 2000))
    by_request = client.inquiry_refund(refund_request_id="ref-3")
    by_id = client.inquiry_refund(refund_id=partial.refund_id)
    assert (by_request.refund_status, by_request.refund_id, by_request.refund_amount) == (
        "SUCCESS",
        rest.refund_id,
        Amount("SGD", 2000),
    )
    assert (by_id.refund_request_id, by_id.refund_time is not None) == ("ref-1", True)
    kinds = [(t.type, t.request_id) for t in client.inquiry_payment(payment_id=payment_id).transactions]
    assert kinds[1:] == [("REFUND", "ref-1"), ("REFUND", "ref-3")]
    with pytest.raises(AntomFailed) as exc:
        client.inquiry_refund(refund_request_id="never")
    assert exc.value.result_code == "ORDER_NOT_EXIST"


def test_refund_of_unknown_payment(client: AntomClient) -> None:
    with pytest.raises(AntomFailed) as exc:
        client.refund(refund_request_id=new_id("ref"), payment_id="2024000", amount=Amount("SGD", 1))
    assert exc.value.result_code == "ORDER_NOT_EXIST"


def test_another_merchant_cannot_see_a_payment(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client)
    other = sandbox.add_merchant("SANDBOX_5YOTHER00000001")
    with sandbox.client(other) as other_client, pytest.raises(AntomFailed) as exc:
        other_client.inquiry_payment(payment_id=payment_id)
    assert exc.value.result_code == "ORDER_NOT_EXIST"


def _with_a_fresh_key(sandbox: SandboxServer, client_id: str) -> AntomClient:
    """A client signing with a key the simulator has never seen."""
    return AntomClient(
        client_id=client_id,
        private_key=generate_private_key(),
        antom_public_key=sandbox.antom_public_key_b64,
        gateway_url=sandbox.url,
        max_retries=0,
    )


def test_wrong_key_is_signature_invalid(sandbox: SandboxServer) -> None:
    with _with_a_fresh_key(sandbox, sandbox.merchant().client_id) as forger, pytest.raises(AntomFailed) as exc:
        forger.inquiry_payment(payment_request_id="anything")
    assert exc.value.result_code == "SIGNATURE_INVALID"


def test_unknown_client_id(sandbox: SandboxServer) -> None:
    with _with_a_fresh_key(sandbox, "SANDBOX_5YNOBODY00000001") as stranger, pytest.raises(AntomFailed) as exc:
        stranger.inquiry_payment(payment_request_id="anything")
    assert exc.value.result_code == "CLIENT_INVALID"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"productCode": "CASHIER_PAYMENT"}, "paymentRequestId is required"),
        ({"paymentRequestId": "x", "productCode": "AGREEMENT_PAYMENT"}, "productCode"),
        (
            {
                "paymentRequestId": "x",
                "productCode": "CASHIER_PAYMENT",
                "paymentAmount": {"currency": "SGD", "value": 42.5},
            },
            "paymentAmount",
        ),
    ],
)
def test_malformed_session_requests(client: AntomClient, payload: dict[str, object], message: str) -> None:
    with pytest.raises(AntomFailed) as exc:
        client._call("createPaymentSession", "/ams/api/v1/payments/createPaymentSession", payload, None, _Raw)
    assert exc.value.result_code == "PARAM_ILLEGAL"
    assert message in (exc.value.result_message or "")


def test_capture_with_a_float_amount_is_param_illegal(sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = paid(sandbox, client)
    payload = {"captureRequestId": "c", "paymentId": payment_id, "captureAmount": {"currency": "SGD", "value": 1.5}}
    with pytest.raises(AntomFailed) as exc:
        client._call("capture", "/ams/api/v1/payments/capture", payload, "c", _Raw)
    assert exc.value.result_code == "PARAM_ILLEGAL"


def test_capture_in_process_then_failed(
    sandbox: SandboxServer, client: AntomClient, receiver: NotificationReceiver
) -> None:
    payment_id = paid(sandbox, client, card="4000000000000341", notify_url=receiver.url)
    with pytest.raises(AntomUnknownResult) as exc:
        client.capture(capture_request_id="cap-x", payment_id=payment_id, amount=Amount("SGD", 4200))
    assert exc.value.result_code == "CAPTURE_IN_PROCESS"
    [note] = sandbox.wait_for_notifications(1, "CAPTURE_RESULT")
    assert note.payload["result"] == {
        "resultCode": "PROCESS_FAIL",
        "resultStatus": "F",
        "resultMessage": "The card network refused the capture.",
    }
    [capture] = client.inquiry_payment(payment_id=payment_id).transactions
    assert (capture.status, capture.result and capture.result.code) == ("FAIL", "PROCESS_FAIL")
    with pytest.raises(AntomFailed) as failed:
        client.capture(capture_request_id="cap-x", payment_id=payment_id, amount=Amount("SGD", 4200))
    assert failed.value.result_code == "PROCESS_FAIL"


class _Raw:
    """Parses nothing: lets tests send hand-built bodies through the real client."""

    @classmethod
    def from_wire(cls, result: object, data: object) -> object:
        return data
