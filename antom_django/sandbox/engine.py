"""The simulator's core: keys and clients, the buyer's side of a payment, and what it notifies."""

from __future__ import annotations

import base64
import functools
import json
import random
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from antom_django.client.keys import load_public_key, public_der_b64
from antom_django.client.signing import Signer, Verifier
from antom_django.client.types import Result

from . import cards
from .config import SandboxConfig
from .faults import Faults
from .notifier import Notifier
from .scheduler import Scheduler
from .store import SUCCESS, Capture, Payment, Refund, Session, Store, iso

CLOSED = Result("ORDER_IS_CLOSED", "F", "The payment session expired before the buyer paid.")
CAPTURE_FAILED = Result("PROCESS_FAIL", "F", "The card network refused the capture.")
AUTH_EXPIRED = Result("AUTH_EXPIRED", "F", "The authorization expired before it was captured.")


class CheckoutError(Exception):
    """The buyer's action cannot go ahead (unknown, closed or expired session, bad form)."""

    def __init__(self, code: str, message: str, *, fields: dict[str, str] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.status = status


@dataclass
class Outcome:
    """What the checkout tells the buyer's browser (and the JS stand-in) after a step."""

    status: str  # SUCCESS / FAIL / PROCESSING / CHALLENGE
    payment: Payment

    def to_json(self, session: Session) -> dict[str, Any]:
        code = {
            "SUCCESS": "SDK_PAYMENT_SUCCESSFUL",
            "FAIL": "SDK_PAYMENT_FAIL",
            "PROCESSING": "SDK_PAYMENT_PROCESSING",
            "CHALLENGE": "SDK_PAYMENT_PROCESSING",
        }[self.status]
        return {
            "status": self.status,
            "code": code,
            "sessionId": session.session_id,
            "paymentRequestId": self.payment.payment_request_id,
            "paymentId": self.payment.payment_id,
            "paymentStatus": self.payment.status,
            "paymentResultCode": self.payment.result_code,
            "paymentResultMessage": self.payment.result_message,
            "redirectUrl": self.payment.redirect_url,
        }


def _billing_errors(billing: Any) -> dict[str, str]:
    """What is wrong with the checkout's ``billingAddress`` object, by field."""
    if not isinstance(billing, dict):
        return {"billingAddress": "billingAddress must be an object."}
    errors: dict[str, str] = {}
    region = billing.get("region")
    if not (isinstance(region, str) and len(region) == 2 and region.isalpha()):
        errors["billingAddress.region"] = "region must be an ISO 3166 two-letter code."
    for name, limit in (("address1", 256), ("address2", 256), ("city", 32), ("state", 8), ("zipCode", 32)):
        value = billing.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors[f"billingAddress.{name}"] = f"{name} must be text of at most {limit} characters."
    return errors


class Simulator:
    """Antom's side of the conversation, shared by the gateway API, the checkout and the admin endpoints."""

    def __init__(self, config: SandboxConfig, private_key: rsa.RSAPrivateKey) -> None:
        self.config = config
        self.private_key = private_key
        self.signer = Signer(private_key)
        self.store = Store()
        self.clients: dict[str, dict[str, Verifier]] = {}  # client id -> public key DER -> verifier
        self.faults = config.faults
        self.rng = random.Random(config.seed)
        self.scheduler = Scheduler()
        self.notifier = Notifier(self)
        self._lock = threading.Lock()

    # -- keys and clients ---------------------------------------------------

    @property
    def public_key_b64(self) -> str:
        """The simulator's public key, the shop's ``ANTOM_PUBLIC_KEY``."""
        return public_der_b64(self.private_key)

    def register_client(self, client_id: str, public_key: rsa.RSAPublicKey | str | bytes) -> None:
        """Trust ``public_key`` for requests from ``client_id`` (several keys per client are fine)."""
        if not client_id or not isinstance(client_id, str) or len(client_id) > 64:
            raise ValueError("client id must be a non-empty string of at most 64 characters")
        key = (
            public_key
            if isinstance(public_key, rsa.RSAPublicKey)
            else load_public_key(public_key, what="merchant public key")
        )
        with self._lock:
            self.clients.setdefault(client_id, {}).setdefault(public_der_b64(key), Verifier(key))

    def verifiers(self, client_id: str) -> list[Verifier]:
        """The verifiers of every key registered for ``client_id`` (empty when unknown)."""
        with self._lock:
            return list(self.clients.get(client_id, {}).values())

    def client_ids(self) -> list[str]:
        with self._lock:
            return sorted(self.clients)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()

    def advance_clock(self, seconds: float) -> None:
        """Move the clock forward and expire the sessions that ran out meanwhile."""
        self.store.clock.advance(seconds)
        self.sweep()

    def reset(self) -> None:
        """Forget every payment and notification and clear run faults (clients and keys stay)."""
        self.scheduler.clear()
        self.store.reset()
        self.notifier.reset()
        self.faults = self.config.faults

    # -- sessions -------------------------------------------------------------

    def session_data(self, session_id: str, origin: str) -> str:
        """Antom's ``paymentSessionData`` shape (``<data>&&<region>&&<tag>``) carrying our origin."""
        blob = json.dumps({"sessionId": session_id, "origin": origin, "environment": "sandbox"}, separators=(",", ":"))
        return base64.b64encode(blob.encode()).decode("ascii") + "&&SANDBOX&&sim"

    def open_session(self, payment: Payment, origin: str, expires_at: Any = None) -> Session:
        now = self.store.clock.now()
        session_id = secrets.token_urlsafe(24)
        expires = expires_at or now + timedelta(seconds=self.config.session_ttl)
        session = Session(
            session_id, payment.client_id, payment.payment_id, expires, self.session_data(session_id, origin)
        )
        with self.store.lock:
            self.store.sessions[session_id] = session
        delay = (expires - now).total_seconds()
        # The scheduler runs on real time; a moved clock is caught by the lazy sweep instead.
        self.scheduler.call_later(max(delay, 0), self.sweep)
        return session

    def sweep(self) -> None:
        """Close every open session whose expiry has passed (lazily called on each access too)."""
        now = self.store.clock.now()
        with self.store.lock:
            overdue = [
                s for s in self.store.sessions.values() if s.status in ("OPEN", "CHALLENGE") and s.expires <= now
            ]
        for session in overdue:
            self.expire_session(session.session_id)

    def session(self, session_id: str) -> tuple[Session, Payment]:
        self.sweep()
        with self.store.lock:
            session = self.store.sessions.get(session_id)
            payment = self.store.payments.get(session.payment_id) if session else None
        if session is None or payment is None:
            raise CheckoutError("SDK_CREATEPAYMENT_PARAMETER_ERROR", "Unknown payment session.", status=404)
        return session, payment

    def expire_session(self, session_id: str) -> Payment:
        """Let the session run out: the payment closes with ``ORDER_IS_CLOSED`` and is notified."""
        with self.store.lock:
            session = self.store.sessions.get(session_id)
            if session is None:
                raise CheckoutError("SDK_CREATEPAYMENT_PARAMETER_ERROR", "Unknown payment session.", status=404)
            payment = self.store.payments[session.payment_id]
            if session.status not in ("OPEN", "CHALLENGE") or payment.status not in ("PROCESSING",):
                return payment
            session.status = "EXPIRED"
            self._finish(payment, "FAIL", CLOSED)
        self._announce_result(payment)
        return payment

    # -- the buyer's side -------------------------------------------------------

    def pay(self, session_id: str, form: dict[str, Any]) -> tuple[Session, Outcome]:
        """Submit the hosted checkout's card form."""
        session, payment = self.session(session_id)
        number, billing = self._validate_form(form)
        with self.store.lock:
            self._ensure_payable(session, payment)
            card = cards.card_for(number)
            payment.card_behaviour = card.behaviour
            payment.card = self._card_facts(card, number, billing)
            if card.behaviour == cards.EXPIRE:
                session.status = "EXPIRED"
                self._finish(payment, "FAIL", CLOSED)
                outcome = Outcome("FAIL", payment)
            elif card.behaviour == cards.DECLINE:
                session.status = "COMPLETED"
                self._finish(payment, "FAIL", Result(card.result_code, "F", card.result_message))
                outcome = Outcome("FAIL", payment)
            elif card.behaviour == cards.CHALLENGE:
                session.status = "CHALLENGE"
                return session, Outcome("CHALLENGE", payment)
            elif card.behaviour == cards.PROCESSING:
                session.status = "COMPLETED"
                payment.status = "PENDING"
                payment.result_code, payment.result_message = "PAYMENT_IN_PROCESS", "payment in process"
                payment.pending_outcome = (card.settles_to, card.result_code, card.result_message)
                outcome = Outcome("PROCESSING", payment)
            else:
                session.status = "COMPLETED"
                self._approve(payment)
                outcome = Outcome("SUCCESS", payment)
        self._after_outcome(payment, outcome)
        return session, outcome

    def challenge(self, session_id: str, passed: bool) -> tuple[Session, Outcome]:
        """Finish the 3-D Secure step of a challenge card."""
        session, payment = self.session(session_id)
        with self.store.lock:
            if session.status != "CHALLENGE":
                raise CheckoutError(
                    "SDK_PAYMENT_ERROR", "No 3-D Secure challenge is waiting for this session.", status=409
                )
            session.status = "COMPLETED"
            if payment.card is not None:
                payment.card["threeDSResult"] = {
                    "eci": "05" if passed else "07",
                    "cavv": base64.b64encode(secrets.token_bytes(20)).decode() if passed else "",
                    "threeDSVersion": "2.2.0",
                }
            if passed:
                self._approve(payment)
                outcome = Outcome("SUCCESS", payment)
            else:
                code, message = cards.CHALLENGE_FAILED
                self._finish(payment, "FAIL", Result(code, "F", message))
                outcome = Outcome("FAIL", payment)
        self._after_outcome(payment, outcome)
        return session, outcome

    def settle(self, payment_id: str, status: str | None = None) -> Payment:
        """Settle a PENDING payment (the test card's outcome unless ``status`` says otherwise)."""
        with self.store.lock:
            payment = self.store.payments.get(payment_id)
            if payment is None:
                raise CheckoutError("ORDER_NOT_EXIST", "Unknown payment.", status=404)
            if payment.status != "PENDING":
                return payment
            settles_to, code, message = payment.pending_outcome or ("SUCCESS", "SUCCESS", "success")
            if (status or settles_to) == "SUCCESS":
                self._approve(payment)
            else:
                if code == "SUCCESS":
                    code, message = "DO_NOT_HONOR", "The issuing bank declined the payment."
                self._finish(payment, "FAIL", Result(code, "F", message))
        self._announce_result(payment)
        return payment

    def _after_outcome(self, payment: Payment, outcome: Outcome) -> None:
        if outcome.status == "PROCESSING":
            self.notify_payment(payment, "PAYMENT_PENDING")
            self.scheduler.call_later(
                self.config.scaled(self.config.settle_delay), functools.partial(self.settle, payment.payment_id)
            )
        else:
            self._announce_result(payment)

    def _announce_result(self, payment: Payment) -> None:
        """Notify a final payment result; an approved automatic-capture payment is captured at once."""
        self.notify_payment(payment, "PAYMENT_RESULT")
        if payment.status == "SUCCESS" and not payment.manual_capture:
            self._auto_capture(payment)

    def _ensure_payable(self, session: Session, payment: Payment) -> None:
        if session.status == "EXPIRED":
            raise CheckoutError("SDK_PAYMENT_FAIL", "The payment session has expired.", status=410)
        if session.status == "CHALLENGE":
            raise CheckoutError("SDK_PAYMENT_ERROR", "Complete the 3-D Secure challenge first.", status=409)
        if session.status != "OPEN" or payment.status != "PROCESSING":
            raise CheckoutError("SDK_PAYMENT_ERROR", "This payment session is already completed or closed.", status=409)

    def _validate_form(self, form: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        errors: dict[str, str] = {}
        number = "".join(str(form.get("cardNumber") or "").split()).replace("-", "")
        if not cards.luhn_valid(number):
            errors["cardNumber"] = "Enter a valid card number."
        expiry = str(form.get("expiry") or "").replace(" ", "")
        month, _, year = expiry.partition("/")
        now = self.store.clock.now()
        if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) in (2, 4)):
            errors["expiry"] = "Enter the expiry date as MM/YY."
        else:
            full_year = int(year) + (2000 if len(year) == 2 else 0)
            if (full_year, int(month)) < (now.year, now.month):
                errors["expiry"] = "The card has expired."
        cvv = str(form.get("cvv") or "")
        if not (cvv.isdigit() and len(cvv) in (3, 4)):
            errors["cvv"] = "Enter the 3 or 4 digit security code."
        billing = form.get("billingAddress")
        if billing is not None:
            errors.update(_billing_errors(billing))
        if errors:
            raise CheckoutError("SDK_FORM_VERIFICATION_FAILED", "Check the card details.", fields=errors)
        return number, billing

    def _card_facts(self, card: cards.TestCard, number: str, billing: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "cardNo": cards.mask(number),
            "cardBrand": card.brand,
            "funding": card.funding,
            "issuingCountry": card.issuing_country,
            "paymentMethodRegion": "GLOBAL",
            "avsResultRaw": "Y" if billing else "U",
            "cvvResultRaw": "M",
            "networkTransactionId": f"SIMNTI{secrets.randbelow(10**12):012d}",
            "authorizationCode": f"{secrets.randbelow(10**6):06d}",
            "threeDSResult": {"eci": "", "cavv": ""},
            "incrementalAuthorizationAvailable": "false",
            "extendedAuthorizationAvailable": "false",
            "refundOnAuthorizationAvailable": "false",
        }

    def _approve(self, payment: Payment) -> None:
        now = self.store.clock.now()
        payment.status = "SUCCESS"
        payment.result_code, payment.result_message = "SUCCESS", "success"
        payment.payment_time = now
        # Whole seconds: authExpiryTime is stated to the second, so the stated time is the real one.
        payment.auth_expiry = (now + timedelta(seconds=self.config.auth_ttl)).replace(microsecond=0)

    def lapse(self, payment: Payment) -> Payment:
        """Antom's end of an authorization, applied when the payment is next looked at (call holding the lock).

        Past ``authExpiryTime`` an authorization with nothing captured is released: reported ``CANCELLED``
        with ``AUTH_EXPIRED``, and no notification (Antom sends none). A partly captured one stays
        ``SUCCESS``; only its uncaptured rest lapses (captures are refused with ``AUTH_EXPIRED``).
        """
        if (
            payment.manual_capture
            and payment.status == "SUCCESS"
            and payment.auth_expiry is not None
            and self.store.clock.now() >= payment.auth_expiry
            and not payment.captured
        ):
            self._finish(payment, "CANCELLED", AUTH_EXPIRED)
        return payment

    def _finish(self, payment: Payment, status: str, result: Result) -> None:
        payment.status = status
        payment.result_code, payment.result_message = result.code, result.message

    def _auto_capture(self, payment: Payment) -> None:
        with self.store.lock:
            now = self.store.clock.now()
            fails = payment.card_behaviour == cards.CAPTURE_FAILS
            capture = Capture(
                capture_id=self.store.new_id("capture"),
                request_id=payment.payment_request_id,
                amount=payment.amount,
                status="FAIL" if fails else "SUCCESS",
                result=CAPTURE_FAILED if fails else SUCCESS,
                created=now,
                time=now,
                request={},
                automatic=True,
                payment_id=payment.payment_id,
            )
            payment.captures.append(capture)
        self.notify_capture(payment, capture)

    # -- notifications ------------------------------------------------------------

    def notification_faults(self, payment: Payment, extra: Faults | None = None) -> Faults:
        return self.faults.merged(payment.faults).merged(extra)

    def notify_payment(self, payment: Payment, notify_type: str) -> None:
        if notify_type == "PAYMENT_PENDING" or payment.status == "SUCCESS":
            result = SUCCESS
        else:
            result = Result(payment.result_code, "F", payment.result_message)
        body: dict[str, Any] = {
            "notifyType": notify_type,
            "result": result.to_wire(),
            "paymentRequestId": payment.payment_request_id,
            "paymentId": payment.payment_id,
            "paymentAmount": payment.amount.to_wire(),
            "paymentCreateTime": iso(payment.created),
        }
        if payment.status == "SUCCESS":
            body["actualPaymentAmount"] = payment.amount.to_wire()
            body["paymentTime"] = iso(payment.payment_time)
            if payment.manual_capture:
                body["authExpiryTime"] = iso(payment.auth_expiry)
        if payment.card:
            body["paymentResultInfo"] = dict(payment.card)
            body["cardInfo"] = {k: payment.card[k] for k in ("cardBrand", "cardNo", "funding", "issuingCountry")}
        self.notifier.enqueue(
            payment.client_id, payment.notify_url, body, payment.payment_id, self.notification_faults(payment)
        )

    def notify_capture(self, payment: Payment, capture: Capture, faults: Faults | None = None) -> None:
        body = {
            "notifyType": "CAPTURE_RESULT",
            "result": capture.result.to_wire(),
            "captureRequestId": capture.request_id,
            "paymentId": payment.payment_id,
            "captureId": capture.capture_id,
            "captureAmount": capture.amount.to_wire(),
            "captureTime": iso(capture.time or capture.created),
        }
        self.notifier.enqueue(
            payment.client_id, payment.notify_url, body, payment.payment_id, self.notification_faults(payment, faults)
        )

    def notify_refund(self, payment: Payment, refund: Refund, faults: Faults | None = None) -> None:
        body = {
            "notifyType": "REFUND_RESULT",
            "result": refund.result.to_wire(),
            "refundStatus": refund.status,
            "refundRequestId": refund.request_id,
            "refundId": refund.refund_id,
            "refundAmount": refund.amount.to_wire(),
            "refundTime": iso(refund.time or refund.created),
        }
        url = refund.notify_url or payment.notify_url
        self.notifier.enqueue(
            payment.client_id, url, body, payment.payment_id, self.notification_faults(payment, faults)
        )
