"""The adapter through ``POST /antom/sessions/`` and ``GET /antom/payments/<id>/`` against the simulator."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from antom_django.client import Amount
from antom_django.conf import antom_settings
from antom_django.models import Payment
from shop.models import Order, Product

from .conftest import buy


def open_session(client: Client, number: str, **extra: Any) -> Any:
    return client.post(
        "/antom/sessions/", json.dumps({"referenceOrderId": number, **extra}), content_type="application/json"
    )


def test_the_session_charges_the_orders_amount_whatever_the_browser_sends(
    kettle: Product, buyer: Client, no_notifications: Any
) -> None:
    order = buy(buyer)

    response = open_session(buyer, order.number, amount={"currency": "SGD", "value": "1"}, value="1")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["amount"] == {"currency": "SGD", "value": "4200"}
    assert body["referenceOrderId"] == order.number and body["environment"] == "sandbox"
    payment = Payment.objects.get(payment_request_id=body["paymentRequestId"])
    assert (payment.amount, payment.currency, payment.order) == (4200, "SGD", order)
    no_notifications.pay(body["paymentSessionData"])
    at_antom = antom_settings.new_client().inquiry_payment(payment_request_id=payment.payment_request_id)
    assert (at_antom.payment_status, at_antom.payment_amount) == ("SUCCESS", Amount("SGD", 4200))


def test_the_redirect_url_names_the_order(kettle: Product, buyer: Client, no_notifications: Any) -> None:
    order = buy(buyer)
    body = open_session(buyer, order.number).json()

    payment = Payment.objects.get(payment_request_id=body["paymentRequestId"])

    assert payment.session_request["redirect_url"] == f"http://testserver/checkout/result/?order={order.number}"


def test_another_guest_can_neither_pay_nor_see_the_payment(
    kettle: Product, buyer: Client, no_notifications: Any
) -> None:
    order = buy(buyer)
    body = open_session(buyer, order.number).json()
    stranger = Client()

    refused = open_session(stranger, order.number)

    assert (refused.status_code, refused.json()["code"]) == (404, "order_not_found")
    assert stranger.get(f"/antom/payments/{body['paymentRequestId']}/").status_code == 404
    assert buyer.get(f"/antom/payments/{body['paymentRequestId']}/").json()["isPending"] is True
    assert Payment.objects.count() == 1


def test_the_guest_who_made_the_order_sees_its_payments_even_from_a_later_session_request(
    kettle: Product, buyer: Client, no_notifications: Any
) -> None:
    order = buy(buyer)
    first = open_session(buyer, order.number).json()
    no_notifications.pay(first["paymentSessionData"], "4000000000000002")  # declined
    buyer.get(f"/antom/payments/{first['paymentRequestId']}/")  # the status refresh learns FAILED
    session = buyer.session
    session["antom_payment_request_ids"] = []  # antom_django's own memory of the guest's payments is gone
    session.save()

    assert buyer.get(f"/antom/payments/{first['paymentRequestId']}/").status_code == 200  # the order is the guest's


def test_a_logged_in_buyers_order_needs_that_buyer(kettle: Product, buyer: Client, no_notifications: Any) -> None:
    ann = User.objects.create_user("ann", password="pw")
    buyer.force_login(ann)
    order = buy(buyer)
    eve = Client()
    eve.force_login(User.objects.create_user("eve", password="pw"))

    assert open_session(eve, order.number).status_code == 404
    assert open_session(Client(), order.number).status_code == 404
    assert open_session(buyer, order.number).status_code == 201


def test_a_mobile_app_pays_with_a_token(kettle: Product, no_notifications: Any) -> None:
    ann = User.objects.create_user("ann", password="pw")
    order = Order.objects.create(product=kettle, currency="SGD", total_minor=4200, user=ann)
    app = Client(headers={"Authorization": f"Token {Token.objects.create(user=ann).key}"})

    body = open_session(app, order.number).json()

    assert body["amount"] == {"currency": "SGD", "value": "4200"} and body["paymentSessionData"]
    assert app.get(f"/antom/payments/{body['paymentRequestId']}/").json()["isPending"] is True
    assert open_session(Client(headers={"Authorization": "Token wrong"}), order.number).status_code == 403


def test_a_cancelled_order_cannot_be_paid(kettle: Product, buyer: Client, no_notifications: Any) -> None:
    order = buy(buyer)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)

    response = open_session(buyer, order.number)

    assert (response.status_code, response.json()["code"]) == (409, "order_not_payable")
