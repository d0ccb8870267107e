"""The result page at REDIRECT_URL: the latest payment of the buyer's order, and its progress while pending."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from antom_django.models import Payment
from shop.models import Order, Product

from .conftest import buy

P = Payment.Status


def result_page(client: Client, order: Order) -> str:
    response = client.get(f"/checkout/result/?order={order.number}")
    assert response.status_code == 200, response
    return response.content.decode()


def payment_for(order: Order, status: str, request_id: str = "pay-1", **fields: object) -> Payment:
    return Payment.objects.create(
        payment_request_id=request_id,
        amount=order.total_minor,
        currency=order.currency,
        reference_order_id=order.number,
        status=status,
        **fields,
    )


def state(page: str) -> str:
    match = re.search(r'id="result" data-state="(\w+)"', page)
    assert match, page
    return match.group(1)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (P.PENDING, "pending"),
        (P.PROCESSING, "pending"),
        (P.AUTHORIZED, "authorized"),
        (P.SUCCEEDED, "paid"),
        (P.PARTIALLY_CAPTURED, "paid"),
        (P.FAILED, "failed"),
        (P.CANCELLED, "cancelled"),
    ],
)
def test_the_state_follows_the_latest_payment(kettle: Product, buyer: Client, status: str, expected: str) -> None:
    order = buy(buyer)
    payment_for(order, status)

    page = result_page(buyer, order)

    assert state(page) == expected
    progress = re.search(r'<div id="progress"[^>]*>', page)
    assert progress is not None
    assert ("hidden" in progress.group(0)) is (expected != "pending")
    retry = re.search(r'<a id="retry"[^>]*>', page)
    assert retry is not None
    assert (" hidden" in retry.group(0)) is (expected != "failed")
    assert f'href="/checkout/{order.number}/"' in retry.group(0)


def test_it_polls_the_status_endpoint_of_the_latest_payment(kettle: Product, buyer: Client) -> None:
    order = buy(buyer)
    old = payment_for(order, P.FAILED, "pay-old", result_code="DO_NOT_HONOR")
    Payment.objects.filter(pk=old.pk).update(created_at=old.created_at.replace(year=2020))
    payment_for(order, P.PENDING, "pay-new")

    page = result_page(buyer, order)

    assert 'data-status-url="/antom/payments/pay-new/"' in page
    assert "/static/shop/result.js" in page
    assert state(page) == "pending"


def test_a_failed_payment_says_why(kettle: Product, buyer: Client) -> None:
    order = buy(buyer)
    payment_for(order, P.FAILED, result_code="DO_NOT_HONOR")

    assert "Reason: DO_NOT_HONOR" in result_page(buyer, order)


def test_without_a_payment_the_buyer_goes_back_to_the_checkout(kettle: Product, buyer: Client) -> None:
    order = buy(buyer)

    response = buyer.get(f"/checkout/result/?order={order.number}")

    assert (response.status_code, response["Location"]) == (302, f"/checkout/{order.number}/")


def test_only_the_buyer_sees_it(kettle: Product, buyer: Client) -> None:
    order = buy(buyer)
    payment_for(order, P.AUTHORIZED)

    assert Client().get(f"/checkout/result/?order={order.number}").status_code == 404
    assert Client().get("/checkout/result/").status_code == 404
    assert Client().get("/checkout/result/?order=SO-NOPE").status_code == 404
