"""Private key material never in reprs, exception messages, ``manage.py check``, the admin, or error pages."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings

from antom_django.client.errors import AntomError
from antom_django.client.keys import load_private_key
from antom_django.client.signing import Signer, Verifier
from antom_django.conf import antom_settings
from antom_django.models import Notification, Payment
from tests.api.conftest import make_payment
from tests.api.shop import add_order
from tests.security.scan import SCAN, KeyScan
from tests.settings import VECTORS

PRIVATE = VECTORS["merchant_private_key"]


def leaks(text: str | bytes) -> str:
    return SCAN.find(text)


def test_the_scan_finds_key_material_in_every_form_and_not_the_public_key() -> None:
    """The scan this suite relies on (``tests/security/scan.py``) can fail."""
    scan = KeyScan()
    scan.add_key(PRIVATE)
    key = load_private_key(PRIVATE)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    body = "".join(pem.splitlines()[1:-1])
    assert scan.find(f"settings: {PRIVATE!r}")
    assert scan.find(pem.replace("-----BEGIN PRIVATE KEY-----", ""))  # the body alone, line by line
    assert scan.find(body[700:740].encode())  # any 40 characters
    assert scan.find('{"key": "' + pem.replace("\n", "\\n") + '"}')
    assert scan.find("-----BEGIN RSA PRIVATE KEY-----")
    assert not scan.find(VECTORS["merchant_public_key"])
    assert not scan.find(body[700:719])
    assert SCAN.seen["records"] and SCAN.seen["responses"]  # and it is wired to the session's logs and responses


def test_reprs_and_strings_hold_no_key_material() -> None:
    client = antom_settings.new_client()
    key = antom_settings.merchant_private_key
    objects: list[Any] = [antom_settings, client, client.signer if hasattr(client, "signer") else None, key]
    objects += [Signer(key), Verifier(antom_settings.antom_public_key), antom_settings.antom_public_key]
    objects.append(vars(client))
    for obj in objects:
        assert not leaks(repr(obj)) and not leaks(str(obj)), type(obj)
    client.close()


@pytest.mark.parametrize(
    "broken",
    [
        PRIVATE[:-40],
        PRIVATE[:200] + "!" + PRIVATE[201:],
        PRIVATE.replace("A", "B"),
        "-----BEGIN PRIVATE KEY-----\n" + PRIVATE[:-8],
    ],
)
def test_a_broken_key_is_reported_without_its_text(broken: str) -> None:
    with pytest.raises(AntomError) as raised:
        load_private_key(broken, what="PRIVATE_KEY")
    assert not leaks(str(raised.value)) and not leaks(repr(raised.value))
    out, err = io.StringIO(), io.StringIO()
    with override_settings(ANTOM={**settings.ANTOM, "PRIVATE_KEY": broken}), pytest.raises(SystemCheckError) as failed:
        call_command("check", stdout=out, stderr=err)
    shown = out.getvalue() + err.getvalue() + str(failed.value)
    assert "PRIVATE_KEY" in shown
    assert not leaks(shown)


def test_manage_py_check_output_holds_no_key_material() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("check", "--deploy", stdout=out, stderr=err, fail_level="CRITICAL")
    assert not leaks(out.getvalue() + err.getvalue())


@pytest.fixture
def superuser(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


@pytest.mark.django_db
def test_admin_pages_hold_no_key_material(superuser: Client) -> None:
    payment = make_payment(status=Payment.Status.AUTHORIZED, payment_id="2024pay")
    note = Notification.objects.create(body='{"notifyType": "PAYMENT_RESULT"}', client_id=VECTORS["client_id"])
    pages = [
        "/admin/",
        "/admin/antom_django/payment/",
        f"/admin/antom_django/payment/{payment.pk}/change/",
        f"/admin/antom_django/payment/{payment.pk}/do/sync/",
        f"/admin/antom_django/payment/{payment.pk}/do/capture/",
        "/admin/antom_django/payment/reconcile/",
        "/admin/antom_django/notification/",
        f"/admin/antom_django/notification/{note.pk}/change/",
    ]
    for url in pages:
        response = superuser.get(url)
        assert response.status_code == 200, url
        assert not leaks(response.content), url


@pytest.fixture
def key_loading_fails(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loading the private key fails unexpectedly (not a ``KeyFormatError``): a frame holding the key's text
    is on the traceback of a 500."""

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the key store is down")

    monkeypatch.setattr(serialization, "load_der_private_key", boom)
    monkeypatch.setattr(serialization, "load_pem_private_key", boom)
    with override_settings(ANTOM={**settings.ANTOM}, DEBUG=True):  # a fresh settings object: keys loaded again
        yield


def technical_500(client: Client, method: str, url: str, data: dict[str, Any] | None = None) -> bytes:
    client.raise_request_exception = False
    if method == "post":
        response = (
            client.post(url, data or {}, content_type="application/json" if url.startswith("/antom/") else None)
            if url.startswith("/antom/")
            else client.post(url, data or {})
        )
    else:
        response = client.get(url)
    assert response.status_code == 500
    assert b"the key store is down" in response.content  # Django's DEBUG page, with its frames
    return response.content


@pytest.mark.django_db
def test_debug_error_page_of_the_app_views_holds_no_key_material(key_loading_fails: None) -> None:
    add_order("order-1", 4200)
    page = technical_500(Client(), "post", "/antom/sessions/", {"referenceOrderId": "order-1"})
    assert not leaks(page)


@pytest.mark.django_db
def test_debug_error_page_of_the_admin_actions_holds_no_key_material(
    superuser: Client, key_loading_fails: None
) -> None:
    payment = make_payment(status=Payment.Status.AUTHORIZED, payment_id="2024pay")
    version = payment.updated_at.isoformat()
    page = technical_500(superuser, "post", f"/admin/antom_django/payment/{payment.pk}/do/sync/", {"version": version})
    assert not leaks(page)


@pytest.mark.django_db(transaction=True)
def test_celery_tasks_take_and_return_only_numbers() -> None:
    """What crosses the broker and the result backend: counts and seconds, never a key or a body."""
    from antom_django import tasks

    runs = [
        (tasks.apply_pending_notifications, {"limit": 10, "include_errors": True}),
        (tasks.process_due, {"seconds": 0.0, "batch": 10, "threads": 1}),
        (tasks.sweep, {"limit": 10}),
    ]
    for task, kwargs in runs:
        result = task.apply(kwargs=kwargs).get()
        assert all(isinstance(v, (int, float, bool)) for v in kwargs.values())
        assert isinstance(result, dict) and all(isinstance(v, int) for v in result.values()), (task.name, result)
        assert not leaks(repr(result))
