"""End-to-end demo until the example shop exists: a card payment against the local sandbox simulator.

Starts the simulator and a tiny notification receiver in this process, then drives a payment with the
project's AntomClient over real HTTP: create a session, pay with a test card at the hosted checkout,
receive the signed notification, inquire, capture part of it, refund part of that, inquire the refund.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from antom_django.client import Amount, Signer, Verifier, parse_signature_header  # noqa: E402
from antom_django.client.keys import load_private_key, load_public_key  # noqa: E402
from antom_django.sandbox import SandboxConfig, SandboxServer  # noqa: E402
from antom_django.sandbox.receiver import NotificationReceiver, Received  # noqa: E402


def step(number: int, text: str) -> None:
    print(f"\n[{number}] {text}")


def show(received: Received) -> None:
    payload = received.payload
    result = payload["result"]
    print(
        f"    <- {payload['notifyType']} {result['resultStatus']}/{result['resultCode']}"
        f"  signature {'verified' if received.verified else 'INVALID'}"
        f"  (request-time {received.headers['request-time']}, path {received.path})"
    )


def vectors_ok() -> bool:
    vectors = json.loads((ROOT / "tests" / "fixtures" / "signature_vectors.json").read_text())
    signer = Signer(load_private_key(vectors["merchant_private_key"]))
    verifier = Verifier(load_public_key(vectors["antom_public_key"]))
    signed = all(
        signer.sign(r["method"], r["path"], vectors["client_id"], r["request_time"], r["body"]) == r["signature"]
        for r in vectors["requests"]
    )
    checked = all(
        verifier.is_valid(
            n["method"],
            n["path"],
            n["client_id"],
            n["request_time"],
            n["body"],
            parse_signature_header(n["signature_header"]).signature,
        )
        == n["valid"]
        for n in vectors["notifications"]
    )
    return signed and checked


def main() -> int:
    started = time.monotonic()
    step(0, "Antom's signature vectors")
    ok = vectors_ok()
    print(f"    signer and verifier reproduce Antom's official SDK vectors: {'yes' if ok else 'NO'}")

    with (
        SandboxServer(config=SandboxConfig(time_scale=0.01)) as sandbox,
        NotificationReceiver(sandbox.antom_public_key_b64) as receiver,
    ):
        merchant = sandbox.add_merchant()
        step(1, f"Sandbox simulator at {sandbox.url}; notifications go to {receiver.url}")
        print(f"    merchant {merchant.client_id}, simulator public key {sandbox.antom_public_key_b64[:32]}...")
        client = sandbox.client(merchant)

        step(2, "createPaymentSession (card, authorization held for a manual capture)")
        session = client.create_payment_session(
            payment_request_id=f"demo-pay-{int(time.time())}",
            amount=Amount("SGD", 4200),
            redirect_url="https://shop.example.com/checkout/result/",
            notify_url=receiver.url,
            reference_order_id="demo-order-1",
            order_description="2 mugs",
            is_authorization=True,
        )
        print(f"    paymentSessionId {session.payment_session_id}")
        print(
            f"    expires {session.payment_session_expiry_time:%Y-%m-%d %H:%M:%S%z}; hosted checkout {session.normal_url}"
        )

        step(3, "The buyer pays with test card 4242 4242 4242 4242 at the hosted checkout")
        outcome = sandbox.pay(session.payment_session_data, "4242424242424242")
        print(
            f"    checkout says {outcome['code']} ({outcome['paymentStatus']}); buyer goes back to {outcome['redirectUrl']}"
        )
        payment_id = outcome["paymentId"]

        step(4, "Antom notifies the shop (signed with the simulator's key, verified with ANTOM_PUBLIC_KEY)")
        show(receiver.wait(1)[0])

        step(5, "inquiryPayment")
        inquiry = client.inquiry_payment(payment_id=payment_id)
        card = inquiry.card
        print(
            f"    paymentStatus {inquiry.payment_status}, {inquiry.payment_amount}, card {card.brand if card else '?'} ****{card.last4 if card else ''}"
        )
        print(f"    authorization expires {inquiry.auth_expiry_time:%Y-%m-%d %H:%M:%S%z}")

        step(6, "capture 30.00 of the 42.00 authorized (partial capture)")
        capture = client.capture(capture_request_id="demo-cap-1", payment_id=payment_id, amount=Amount("SGD", 3000))
        print(f"    captureId {capture.capture_id}: {capture.capture_amount}")
        show(receiver.wait(2)[1])

        step(7, "refund 10.00 of the captured money")
        refund = client.refund(
            refund_request_id="demo-ref-1", payment_id=payment_id, amount=Amount("SGD", 1000), reason="one mug broke"
        )
        print(f"    refundId {refund.refund_id}: {refund.refund_amount}")
        show(receiver.wait(3)[2])

        step(8, "inquiryRefund and the payment's transactions")
        print(f"    refundStatus {client.inquiry_refund(refund_request_id='demo-ref-1').refund_status}")
        for txn in client.inquiry_payment(payment_id=payment_id).transactions:
            print(f"    {txn.type:<8} {txn.status:<8} {txn.request_id:<12} {txn.amount}")

        step(9, "A declined card, for contrast")
        declined = client.create_payment_session(
            payment_request_id=f"demo-pay-declined-{int(time.time())}",
            amount=Amount("SGD", 4200),
            redirect_url="https://shop.example.com/checkout/result/",
            notify_url=receiver.url,
            reference_order_id="demo-order-2",
            order_description="2 mugs",
        )
        answer = sandbox.pay(declined.payment_session_data, "4000000000000002")
        print(f"    checkout says {answer['code']} with paymentResultCode {answer['paymentResultCode']}")
        show(receiver.wait(4)[3])
        client.close()
        sandbox.wait_for_notifications(4)

        with urllib.request.urlopen(f"{sandbox.url}/sandbox/notifications") as response:
            states = [n["state"] for n in json.loads(response.read())["notifications"]]
        print(f"\nAll {len(states)} notifications acknowledged: {all(s == 'acked' for s in states)}")
    print(f"Demo finished in {time.monotonic() - started:.1f}s.")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
