"""The embedded default: a real worker with embedded beat on Kombu's filesystem transport and SQLite, no server.

Kombu's ``filesystem://`` transport keeps each message as a file in a folder shared by producers and consumers:
no Redis, no database server, and it works with Celery's worker, embedded beat (``-B``) and the solo pool. It has
no acknowledgement: a worker killed mid-task loses that message, which the background work does not mind (the
due times live in the database, and beat sends the next tick a second later). Set its ``control_folder`` (the
exchange table; ``control/`` in the working directory otherwise) beside ``data_folder_in``/``data_folder_out``
(see :mod:`tests.celery_app`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from antom_django.models import Payment, PaymentEvent, Source
from tests.processes import ROOT

from .conftest import Background

pytestmark = pytest.mark.sqlite
P = Payment.Status


def test_a_worker_with_embedded_beat_on_the_filesystem_broker_polls_a_dropped_result(
    background: Background, tmp_path: Path
) -> None:
    assert connection.vendor == "sqlite", "the embedded default runs on SQLite (run with a sqlite:/// database URL)"
    background.sandbox.set_faults(notify_drop=-1)  # Antom's PAYMENT_RESULT never arrives
    folder = tmp_path / "broker"
    folder.mkdir()
    worker = background.worker(
        *("-B", "-s", str(tmp_path / "beat-schedule")),
        ANTOM_TEST_BROKER_URL="filesystem://",
        ANTOM_TEST_BROKER_FOLDER=str(folder),
        ANTOM_TEST_RESULT_URL="",
    )
    payment = background.pay(background.new_payment())

    payment = background.status_is(payment, P.AUTHORIZED)
    assert PaymentEvent.objects.get(payment=payment, kind=PaymentEvent.Kind.STATUS, to_status=P.AUTHORIZED).source == (
        Source.POLL
    )
    assert len(background.signals("payment_authorized", payment)) == 1
    output = worker.output()
    assert "Sending due task antom-process-due" in output, output
    assert "database is locked" not in output, output
    assert "Traceback" not in output, output
    assert {path.name for path in (folder / "control").iterdir()} >= {f"{background.queue}.exchange"}
    assert not (ROOT / "control").exists(), "the transport wrote its exchange table in the working directory"
