"""``GET payments/<id>/`` tells a caller who may not see a payment nothing: the answer of an id that does not exist."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from antom_django.adapter import SESSION_KEY
from antom_django.models import Payment
from tests.api.conftest import make_payment


def answer(client: Client, request_id: str) -> tuple[int, bytes, dict[str, str]]:
    response = client.get(f"/antom/payments/{request_id}/")
    return response.status_code, response.content, dict(response.headers)


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def guest_of(request_id: str) -> Client:
    """A browser session that created the guest payment ``request_id`` (what ``POST sessions/`` remembers)."""
    client = Client()
    session = client.session
    session[SESSION_KEY] = [request_id]
    session.save()
    return client


@pytest.mark.django_db
def test_wrong_callers_get_exactly_the_answer_of_a_missing_id(django_user_model: Any) -> None:
    owner = django_user_model.objects.create_user("owner")
    stranger = django_user_model.objects.create_user("stranger")
    mine = make_payment(payment_request_id="pay-owned-0001", user=owner, status=Payment.Status.SUCCEEDED)
    guests = make_payment(payment_request_id="pay-guest-0001", reference_order_id="g-1", status=Payment.Status.FAILED)
    missing = "pay-missing-001"  # the same length: the same Content-Length either way
    for caller in (as_user(stranger), Client(), guest_of("pay-other-0001")):
        for request_id in (mine.payment_request_id, guests.payment_request_id):
            status, body, headers = answer(caller, request_id)
            assert status == 404
            assert (status, body, headers) == answer(caller, missing)
            assert b"SUCCEEDED" not in body and b"FAILED" not in body
    # The callers entitled to them see them, so the 404s above are about the caller, not the payments.
    assert answer(as_user(owner), mine.payment_request_id)[0] == 200
    assert answer(guest_of(guests.payment_request_id), guests.payment_request_id)[0] == 200
