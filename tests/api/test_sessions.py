"""POST antom/sessions/ against the sandbox simulator over real HTTP: the amount from the shop, one session per order."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.test import Client, override_settings
from django.utils import timezone, translation
from rest_framework.authentication import BasicAuthentication

from antom_django import services
from antom_django.adapter import AntomAdapter, OrderInfo
from antom_django.api.views import SessionView
from antom_django.client import Amount
from antom_django.exceptions import OrderAlreadyPaid
from antom_django.models import Payment
from tests.api.shop import ORDERS, add_order
from tests.concurrency import race

URL = "/antom/sessions/"


@pytest.fixture
def buyer(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("buyer")


@pytest.fixture
def buyer_client(buyer: Any) -> Client:
    client = Client()
    client.force_login(buyer)
    return client


def create(client: Client, reference: str, **extra: Any) -> Any:
    return client.post(URL, {"referenceOrderId": reference, **extra}, content_type="application/json")


@pytest.mark.django_db
def test_creates_a_session_with_the_amount_from_the_order(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    response = create(buyer_client, "order-1", amount={"currency": "SGD", "value": "1"}, paymentAmount="1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["paymentSessionData"] and body["paymentSessionId"] and body["paymentSessionExpiryTime"]
    assert body["amount"] == {"currency": "SGD", "value": "4200"}
    assert body["reused"] is False
    # What Antom's web, iOS and Android SDKs are initialised with besides the session data.
    assert (body["environment"], body["locale"]) == ("sandbox", "en_US")
    payment = Payment.objects.get(payment_request_id=body["paymentRequestId"])
    assert (payment.amount, payment.currency, payment.status) == (4200, "SGD", Payment.Status.PENDING)
    assert payment.user == buyer
    assert payment.reference_order_id == "order-1"
    assert payment.session_id == body["paymentSessionId"]
    # The simulator holds the session for the shop's amount, not the client's.
    answer = antom_sandbox.client().inquiry_payment(payment_request_id=payment.payment_request_id)
    assert answer.payment_amount is not None and answer.payment_amount.value == 4200


@pytest.mark.django_db
def test_a_second_request_reuses_the_live_session(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    first = create(buyer_client, "order-1").json()
    again = create(buyer_client, "order-1")
    assert again.status_code == 200
    assert again.json()["reused"] is True
    assert again.json()["paymentRequestId"] == first["paymentRequestId"]
    assert again.json()["paymentSessionData"] == first["paymentSessionData"]
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_paid_order_is_refused(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    first = create(buyer_client, "order-1").json()
    assert antom_sandbox.pay(first["paymentSessionData"], "4242424242424242")
    status = buyer_client.get(f"/antom/payments/{first['paymentRequestId']}/").json()
    assert status["status"] == Payment.Status.AUTHORIZED
    refused = create(buyer_client, "order-1")
    assert refused.status_code == 409
    assert refused.json()["code"] == "order_already_paid"
    assert refused.json()["paymentRequestId"] == first["paymentRequestId"]


@pytest.mark.django_db
def test_processing_payment_with_a_live_session_reuses_it(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    first = create(buyer_client, "order-1").json()
    Payment.objects.filter(payment_request_id=first["paymentRequestId"]).update(status=Payment.Status.PROCESSING)
    again = create(buyer_client, "order-1")
    assert again.status_code == 200
    assert again.json()["paymentRequestId"] == first["paymentRequestId"]


@pytest.mark.django_db
def test_expired_session_still_processing_is_refused(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    first = create(buyer_client, "order-1").json()
    Payment.objects.filter(payment_request_id=first["paymentRequestId"]).update(
        status=Payment.Status.PROCESSING, session_expires_at=timezone.now()
    )
    refused = create(buyer_client, "order-1")
    assert refused.status_code == 409
    assert refused.json()["code"] == "payment_in_progress"
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_expired_session_paid_at_the_last_moment_is_found(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    first = create(buyer_client, "order-1").json()
    assert antom_sandbox.pay(first["paymentSessionData"])
    # We have not heard yet (no notification, no poll) and our copy of the session looks expired.
    Payment.objects.filter(payment_request_id=first["paymentRequestId"]).update(session_expires_at=timezone.now())
    refused = create(buyer_client, "order-1")
    assert refused.status_code == 409
    assert refused.json()["code"] == "order_already_paid"
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_expired_unpaid_session_gets_a_new_payment(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    first = create(buyer_client, "order-1").json()
    antom_sandbox.expire(first["paymentSessionData"])
    antom_sandbox.advance_clock(3600)
    Payment.objects.filter(payment_request_id=first["paymentRequestId"]).update(session_expires_at=timezone.now())
    second = create(buyer_client, "order-1")
    assert second.status_code == 201, second.content
    assert second.json()["paymentRequestId"] != first["paymentRequestId"]
    assert not Payment.objects.get(payment_request_id=first["paymentRequestId"]).is_pending


@pytest.mark.django_db
def test_failed_payment_gets_a_new_session(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    first = create(buyer_client, "order-1").json()
    Payment.objects.filter(payment_request_id=first["paymentRequestId"]).update(status=Payment.Status.FAILED)
    second = create(buyer_client, "order-1")
    assert second.status_code == 201
    assert second.json()["paymentRequestId"] != first["paymentRequestId"]


@pytest.mark.django_db
def test_changed_amount_cancels_the_old_session(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    first = create(buyer_client, "order-1").json()
    add_order("order-1", 5000, owner=buyer)
    second = create(buyer_client, "order-1")
    assert second.status_code == 201, second.content
    assert second.json()["amount"]["value"] == "5000"
    old = Payment.objects.get(payment_request_id=first["paymentRequestId"])
    assert old.status == Payment.Status.CANCELLED


@pytest.mark.django_db
def test_unknown_outcome_then_retry_with_the_same_request_id(
    antom_sandbox: Any, buyer: Any, buyer_client: Client
) -> None:
    add_order("order-1", 4200, owner=buyer)
    antom_sandbox.set_faults(http_error_rate=1.0, http_error_status=503, operations=("createPaymentSession",))
    unknown = create(buyer_client, "order-1")
    assert unknown.status_code == 503
    assert unknown.json()["code"] == "antom_unavailable"
    assert unknown["Retry-After"]
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.INITIATED
    assert unknown.json()["paymentRequestId"] == payment.payment_request_id
    antom_sandbox.set_faults()
    retried = create(buyer_client, "order-1")
    assert retried.status_code == 201, retried.content
    assert retried.json()["paymentRequestId"] == payment.payment_request_id
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_antom_refusal_is_a_502(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    # The simulator, like Antom, answers F (PARAM_ILLEGAL) to a redirect URL that is not http(s).
    add_order("order-1", 4200, owner=buyer).redirect_url = "shop-app://result"
    response = create(buyer_client, "order-1")
    assert response.status_code == 502, response.content
    assert response.json()["code"] == "session_failed"
    assert Payment.objects.get().status == Payment.Status.FAILED


@pytest.mark.django_db
def test_unknown_order(buyer_client: Client) -> None:
    response = create(buyer_client, "nope")
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"


@pytest.mark.django_db
def test_closed_order(buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer).closed = True
    response = create(buyer_client, "order-1")
    assert response.status_code == 409
    assert response.json()["code"] == "order_not_payable"


@pytest.mark.django_db
def test_someone_elses_order(buyer: Any, django_user_model: Any) -> None:
    add_order("order-1", 4200, owner=buyer)
    other = Client()
    other.force_login(django_user_model.objects.create_user("other"))
    response = create(other, "order-1")
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    anonymous = create(Client(), "order-1")
    assert anonymous.status_code == 403
    assert anonymous.json()["code"] == "login_required"  # not "not_allowed": logging in would let them pay
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_a_shop_that_scopes_orders_to_the_user_asks_anonymous_buyers_to_log_in(
    buyer: Any, django_user_model: Any
) -> None:
    add_order("order-1", 4200, owner=buyer, scoped=True)
    anonymous = create(Client(), "order-1")
    assert anonymous.status_code == 403
    assert anonymous.json() == {"detail": "Log in to pay for this order.", "code": "login_required"}
    other = Client()
    other.force_login(django_user_model.objects.create_user("other"))
    assert create(other, "order-1").json()["code"] == "order_not_found"
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_login_required_is_a_401_with_an_authentication_that_challenges(
    buyer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_order("order-1", 4200, owner=buyer, scoped=True)
    monkeypatch.setattr(SessionView, "authentication_classes", [BasicAuthentication])
    response = create(Client(), "order-1")
    assert response.status_code == 401
    assert response.json()["code"] == "login_required"
    assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.django_db
def test_environment_and_locale_follow_the_settings(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    assert create(buyer_client, "order-1").status_code == 201
    with override_settings(ANTOM={**settings.ANTOM, "ENVIRONMENT": "production"}, LANGUAGE_CODE="zh-hant"):
        reused = create(buyer_client, "order-1")  # reused: no call to Antom in the other environment
    assert reused.status_code == 200
    assert (reused.json()["environment"], reused.json()["locale"]) == ("prod", "zh_HK")


@pytest.mark.parametrize(
    ("language", "locale"),
    [("en-us", "en_US"), ("fr", "fr_FR"), ("pt-br", "pt_PT"), ("ro", "ro"), ("ja", None)],
)
def test_locale_hint_from_the_active_language(language: str, locale: str | None) -> None:
    info = OrderInfo(reference_order_id="o", amount=Amount("SGD", 1), description="")
    with translation.override(language):
        assert AntomAdapter().get_locale(HttpRequest(), info) == locale


@pytest.mark.django_db
def test_a_python_caller_gets_the_same_rule(antom_sandbox: Any, buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 4200, owner=buyer)
    info = OrderInfo(reference_order_id="order-1", amount=Amount("SGD", 4200), description="Order order-1", user=buyer)
    first = services.open_session(info)
    assert first.reused is False and first.payment.status == Payment.Status.PENDING
    assert first.payment.user == buyer
    assert first.payment.session_request["redirect_url"] == settings.ANTOM["REDIRECT_URL"]
    # The view hands out the session the shell opened, and vice versa.
    assert create(buyer_client, "order-1").json()["paymentRequestId"] == first.payment.payment_request_id
    again = services.open_session(info)
    assert again == (first.payment, True)
    antom_sandbox.pay(first.payment.session_data)
    services.sync_payment(first.payment)
    with pytest.raises(OrderAlreadyPaid) as refused:
        services.open_session(info)
    assert refused.value.payment == first.payment
    assert create(buyer_client, "order-1").json()["code"] == "order_already_paid"


@pytest.mark.django_db
def test_one_rule_for_a_usable_session() -> None:
    def payment(status: str, expires_in: float | None, data: str = "session-data") -> Payment:
        expires = timezone.now() + timedelta(seconds=expires_in) if expires_in is not None else None
        return Payment(status=status, session_data=data, session_expires_at=expires, amount=1, currency="SGD")

    assert services.session_is_usable(payment(Payment.Status.PENDING, 600))
    assert services.session_is_usable(payment(Payment.Status.PROCESSING, None))
    assert not services.session_is_usable(payment(Payment.Status.PENDING, 60))  # under the 2-minute margin
    assert services.session_is_usable(payment(Payment.Status.PENDING, 60), margin=timedelta(0))
    assert not services.session_is_usable(payment(Payment.Status.PENDING, 600, data=""))
    assert not services.session_is_usable(payment(Payment.Status.INITIATED, 600))
    assert not services.session_is_usable(payment(Payment.Status.AUTHORIZED, 600))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [{}, {"referenceOrderId": ""}, {"referenceOrderId": "x" * 65}, {"referenceOrderId": ["a"]}],
    ids=["missing", "empty", "too-long", "list"],
)
def test_invalid_body(buyer_client: Client, body: dict[str, Any]) -> None:
    response = buyer_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "referenceOrderId" in response.json()["errors"]


@pytest.mark.django_db
def test_malformed_json_body(buyer_client: Client) -> None:
    response = buyer_client.post(URL, "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_guest_checkout_sees_its_own_payment(antom_sandbox: Any) -> None:
    add_order("guest-1", 1500)
    guest = Client()
    created = create(guest, "guest-1")
    assert created.status_code == 201
    url = f"/antom/payments/{created.json()['paymentRequestId']}/"
    assert guest.get(url).status_code == 200
    assert Client().get(url).status_code == 404  # another guest: as if it did not exist


@pytest.mark.django_db
def test_permission_classes_come_from_settings(buyer: Any) -> None:
    add_order("order-1", 4200, owner=buyer)
    antom = {**settings.ANTOM, "PERMISSION_CLASSES": {"sessions": ["rest_framework.permissions.IsAdminUser"]}}
    with override_settings(ANTOM=antom):
        client = Client()
        client.force_login(buyer)
        assert create(client, "order-1").status_code == 403


@pytest.mark.django_db
def test_throttle_classes_come_from_settings(buyer: Any) -> None:
    add_order("order-1", 4200, owner=buyer)
    antom = {**settings.ANTOM, "THROTTLE_CLASSES": {"sessions": ["tests.api.test_sessions.OnePerTest"]}}
    OnePerTest.seen = 0
    with override_settings(ANTOM=antom):
        client = Client()
        client.force_login(buyer)
        assert create(client, "nope").status_code == 404
        throttled = create(client, "nope")
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"


class OnePerTest:
    """A throttle that lets one request through."""

    seen = 0

    def allow_request(self, request: Any, view: Any) -> bool:
        OnePerTest.seen += 1
        return OnePerTest.seen <= 1

    def wait(self) -> float:
        return 60.0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_one_order_make_one_payment(antom_sandbox: Any, django_user_model: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (ANTOM_TEST_DATABASE_URL)")
    buyer = django_user_model.objects.create_user("buyer")
    add_order("order-1", 4200, owner=buyer)
    workers = 4

    def pay(_: int) -> tuple[int, str]:
        client = Client()
        client.force_login(buyer)
        response = create(client, "order-1")
        return response.status_code, response.json().get("paymentRequestId")

    answers = race(workers, pay)
    assert sorted(code for code, _ in answers) == [200] * (workers - 1) + [201]
    assert len({request_id for _, request_id in answers}) == 1
    assert Payment.objects.count() == 1
    assert ORDERS["order-1"].amount.value == 4200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_caller_in_a_transaction_holds_the_orders_lock_until_it_commits(antom_sandbox: Any) -> None:
    # A shop view under ATOMIC_REQUESTS, or a task in transaction.atomic(): the next caller must not get in
    # before the first caller's payment is committed, or it finds none and opens a second session.
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (ANTOM_TEST_DATABASE_URL)")
    info = OrderInfo(reference_order_id="order-1", amount=Amount("SGD", 4200), description="Order order-1")
    opened = threading.Event()

    def first() -> services.OpenedSession:
        with transaction.atomic():
            session = services.open_session(info)
            opened.set()
            time.sleep(1.0)  # the rest of the caller's work, in its transaction
        return session

    def second() -> services.OpenedSession:
        assert opened.wait(30)
        return services.open_session(info)

    answers = race(2, lambda i: (first, second)[i]())
    assert not any(isinstance(answer, Exception) for answer in answers), answers
    assert answers[1] == (answers[0].payment, True)
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_an_order_of_no_amount_is_not_payable(buyer: Any, buyer_client: Client) -> None:
    add_order("order-1", 0, owner=buyer)  # a fully discounted cart: nothing to pay, and no 500
    refused = create(buyer_client, "order-1")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "order_not_payable"
    assert "positive amount" in refused.json()["detail"]
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_reference_longer_than_antoms_is_still_one_order(antom_sandbox: Any) -> None:
    # Stored cut to Antom's 64 characters: looked up the same way, or every call opened another session.
    info = OrderInfo(reference_order_id="order-" + "7" * 70, amount=Amount("SGD", 4200), description="Kettle")
    first = services.open_session(info)
    assert first.payment.reference_order_id == info.reference_order_id[:64]
    assert services.open_session(info) == (first.payment, True)
    antom_sandbox.pay(first.payment.session_data)
    services.sync_payment(first.payment)
    with pytest.raises(OrderAlreadyPaid):
        services.open_session(info)
    assert Payment.objects.count() == 1
