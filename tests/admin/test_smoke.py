from __future__ import annotations

import pytest
from django.test import Client

from tests.domain.helpers import make_payment

pytestmark = pytest.mark.django_db


def test_pages_render(operator: Client) -> None:
    payment = make_payment("AUTHORIZED")
    r = operator.get("/admin/antom_django/payment/")
    assert r.status_code == 200, r.content[:2000]
    r = operator.get(f"/admin/antom_django/payment/{payment.pk}/change/")
    assert r.status_code == 200, r.content[:3000]
    print(r.content.decode()[-6000:])
    r = operator.get(f"/admin/antom_django/payment/{payment.pk}/do/capture/")
    assert r.status_code == 200, r.content[:3000]
