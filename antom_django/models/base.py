"""Shared model pieces: timestamps, request ids and version-neutral check constraints."""

from __future__ import annotations

import uuid

from django.db import models


def new_request_id(prefix: str) -> str:
    """A fresh merchant request id (``pay_…``, ``cap_…``, ``ref_…``), well under Antom's 64 characters."""
    return f"{prefix}_{uuid.uuid4().hex}"


def new_payment_request_id() -> str:
    return new_request_id("pay")


def new_capture_request_id() -> str:
    return new_request_id("cap")


def new_refund_request_id() -> str:
    return new_request_id("ref")


def check_constraint(condition: models.Q, name: str) -> models.CheckConstraint:
    """A named ``CheckConstraint`` (``condition=``, Django 5.1+)."""
    return models.CheckConstraint(condition=condition, name=name)


class TimeStampedModel(models.Model):
    """``created_at`` / ``updated_at`` for every mutable record."""

    created_at = models.DateTimeField(auto_now_add=True, help_text="When this record was created.")
    updated_at = models.DateTimeField(auto_now=True, help_text="When this record was last changed.")

    class Meta:
        abstract = True
