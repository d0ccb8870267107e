"""Fixtures for the simulator's tests: the plugin's live simulator, a client and a notification receiver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from antom_django.client import Amount, AntomClient
from antom_django.client.types import PaymentSession
from antom_django.sandbox import SandboxServer
from antom_django.sandbox.receiver import NotificationReceiver


@pytest.fixture
def sandbox(antom_sandbox: SandboxServer) -> SandboxServer:
    return antom_sandbox


FAST_SCALE = 0.00005  # Antom's 24-hour notification schedule in about 4.4 seconds


@pytest.fixture
def fast(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The simulator with its clock scaled down to :data:`FAST_SCALE` for the test."""
    scale = sandbox.sim.config.time_scale
    sandbox.sim.config.time_scale = FAST_SCALE
    yield sandbox
    sandbox.sim.config.time_scale = scale


@pytest.fixture
def held(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The simulator with processing payments left PENDING until a test settles them."""
    delay = sandbox.sim.config.settle_delay
    sandbox.sim.config.settle_delay = 10_000_000
    yield sandbox
    sandbox.sim.config.settle_delay = delay


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[AntomClient]:
    with sandbox.client() as antom:
        yield antom


@pytest.fixture
def receiver(sandbox: SandboxServer) -> Iterator[NotificationReceiver]:
    with NotificationReceiver(sandbox.antom_public_key_b64) as endpoint:
        yield endpoint


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_session(
    client: AntomClient,
    *,
    notify_url: str | None = None,
    amount: Amount | None = None,
    manual: bool = True,
    request_id: str | None = None,
    reference_order_id: str | None = None,
    **kwargs: Any,
) -> PaymentSession:
    return client.create_payment_session(
        payment_request_id=request_id or new_id("pay"),
        amount=amount or Amount("SGD", 4200),
        redirect_url="https://shop.example.com/checkout/result/",
        reference_order_id=reference_order_id or new_id("order"),
        order_description="2 mugs",
        notify_url=notify_url,
        is_authorization=manual,
        **kwargs,
    )
