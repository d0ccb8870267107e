"""The checkout rule: which payment session the buyer of one order gets, decided under a per-order lock.

``POST sessions/`` is this function and an HTTP mapping of its exceptions; a Celery task, the admin or
the shell calling :func:`open_session` get exactly the same rule.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import connection

from ..client.errors import AntomError, AntomFailed, AntomOutcomeUnknown
from ..exceptions import (
    GatewayRefused,
    OrderAlreadyPaid,
    OrderChanged,
    PaymentError,
    PaymentInProgress,
    PaymentOutcomeUnknown,
)
from ..models import Payment, Source
from .actions import cancel
from .context import Ctx, get_client
from .results import NO_SUCH_PAYMENT, Inquiry, inquire
from .sessions import (
    new_payment,
    request_session,
    retry_session,
    session_closes_at,
    session_has_expired,
    session_is_over,
    session_is_usable,
    stored_reference,
)

try:  # POSIX record locks serialize checkout across processes sharing a SQLite file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ..adapter import OrderInfo
    from ..client.api import AntomClient


class OpenedSession(NamedTuple):
    """The payment whose session the buyer should use, and whether it was handed out before."""

    payment: Payment
    reused: bool


def open_session(
    info: OrderInfo,
    *,
    redirect_url: str | None = None,
    notify_url: str | None = None,
    user: Any = None,
    source: str = Source.API,
    client: AntomClient | None = None,
) -> OpenedSession:
    """The payment session for one merchant order, under the order's lock; the order's earlier payments decide.

    - a paid one (authorized, captured, refunded) → :class:`~antom_django.exceptions.OrderAlreadyPaid`;
      a failed or cancelled one flagged ``needs_review`` (e.g. Antom reported it paid after it was closed)
      → :class:`~antom_django.exceptions.PaymentInProgress` until an operator clears the flag;
    - a pending one whose session has expired → Antom is asked first (inquiryPayment): paid →
      ``OrderAlreadyPaid``; failed or cancelled → skipped; no payment at Antom (an F in
      :data:`~antom_django.services.results.NO_SUCH_PAYMENT`) → closed FAILED here
      (:func:`~antom_django.services.results.antom_has_no_payment`) and skipped; otherwise the rules below;
    - a pending one for another amount (the cart changed) → cancelled at Antom (one Antom does not know
      is closed here; one whose cancel Antom refuses is asked about, and skipped if Antom shows it failed or
      cancelled), then the next rule applies; a cancel refused or unanswered →
      :class:`~antom_django.exceptions.OrderChanged`; so is one whose cancel is in flight
      (``cancel_requested_at``, e.g. the cart changed and changed back), never handed out again;
    - one whose session request had an unknown outcome (INITIATED) → the same request sent again;
    - one with a usable session (:func:`~antom_django.services.session_is_usable`) → reused;
    - one whose session is not usable (expired, or expiring within the reuse margin: Antom is asked as
      above) and still open → :class:`~antom_django.exceptions.PaymentInProgress`, saying why (still
      processing, or the inquiry's F code);
    - otherwise a new payment and session (``redirect_url`` / ``notify_url`` default to the settings),
      for ``info.user``, else ``user`` (who asks; also on the timeline).

    Antom's F to the session request raises :class:`~antom_django.exceptions.PaymentSessionError` (the
    payment FAILED); an unknown outcome raises :class:`~antom_django.exceptions.PaymentOutcomeUnknown`
    (call again: the same payment and request are used). Every exception carries the payment concerned.
    """
    user = info.user if info.user is not None else user
    ctx = Ctx(source=source, user=user)
    reference = stored_reference(info.reference_order_id)  # as new_payment stores it, or it is never found
    with order_lock(reference):
        existing = list(Payment.objects.filter(reference_order_id=reference).order_by("-created_at"))
        _refuse_if_paid(existing)
        for payment in existing:
            if not payment.is_pending:
                continue
            inquiry: Inquiry | None = None
            if session_has_expired(payment):
                # Ask before anything else (a changed cart included): the buyer may have paid at the last
                # moment, or never (then Antom has no payment and it is closed here).
                inquiry = _ask_antom(payment, source, user, client)
                payment = inquiry.payment
                if not payment.is_pending:
                    continue
            if payment.money != info.amount or payment.cancel_requested_at is not None:
                # A cancel already sent (its outcome unknown) may have closed the session at Antom: finish it.
                _retire(payment, ctx, client)
                continue
            if payment.status == Payment.Status.INITIATED:
                retry = partial(
                    retry_session,
                    payment,
                    buyer=info.buyer,
                    goods=info.goods,
                    redirect_url=redirect_url,
                    notify_url=notify_url,
                    source=source,
                    user=user,
                    client=client,
                )
                return OpenedSession(_known(payment, retry), reused=False)
            if session_is_usable(payment):
                return OpenedSession(payment, reused=True)
            if inquiry is None:
                # Too little time left to hand it out again, yet the buyer may be paying with it right now.
                inquiry = _ask_antom(payment, source, user, client)
                payment = inquiry.payment
                if not payment.is_pending:
                    continue
            raise _in_progress(payment, inquiry.refused)
        antom = get_client(client)  # before the payment exists: a configuration error leaves nothing behind
        fresh = new_payment(
            amount=info.amount,
            reference_order_id=info.reference_order_id,
            description=info.description,
            order=info.order,
            user=user,
            buyer=info.buyer,
            goods=info.goods,
            redirect_url=redirect_url,
            notify_url=notify_url,
        )
        return OpenedSession(_known(fresh, lambda: request_session(fresh, ctx, antom)), reused=False)


def _refuse_if_paid(payments: list[Payment]) -> None:
    for payment in payments:
        if payment.is_paid:
            raise OrderAlreadyPaid("This order is already paid.", payment=payment)
        if payment.needs_review and not payment.is_pending:
            # Closed here (FAILED, CANCELLED), yet flagged: Antom may have taken its money after all (a late
            # "paid" contradicting it), so another session could charge the buyer twice.
            raise PaymentInProgress(
                "A closed payment of this order is flagged for review (Antom may have taken its money); "
                "no session is handed out until an operator clears it.",
                payment=payment,
            )


def _retire(payment: Payment, ctx: Ctx, client: AntomClient | None) -> None:
    """The order's amount changed under an open payment: cancel it so it cannot be paid as well.

    A cancel Antom refuses may be of a payment that is closed already (a session that ran out: Antom answers
    e.g. ORDER_IS_CLOSED): Antom is asked, and one it shows failed or cancelled no longer holds the order up.
    """
    try:
        cancel(payment, source=ctx.source, user=ctx.user, client=client)
        return
    except GatewayRefused as exc:
        failure: Exception = exc
        try:
            asked = inquire(payment, source=ctx.source, user=ctx.user, client=client).payment
        except AntomError:
            asked = payment
        _refuse_if_paid([asked])
        if not asked.is_pending:
            return
    except (PaymentError, AntomError) as exc:
        failure = exc
    raise OrderChanged(
        f"The order changed while a session for the old amount was open, and it could not be cancelled: {failure}",
        payment=payment,
    ) from failure


def _known(payment: Payment, run: Callable[[], Payment]) -> Payment:
    """Run a session request, turning the client's unknown outcome into the domain's (with the payment)."""
    try:
        return run()
    except AntomOutcomeUnknown as exc:
        raise PaymentOutcomeUnknown(
            f"Antom's answer is unknown ({type(exc).__name__}); retry and the same payment is used.", payment=payment
        ) from exc


def _ask_antom(payment: Payment, source: str, user: Any, client: AntomClient | None) -> Inquiry:
    """inquiryPayment for an open payment the buyer can no longer be given; a paid one refuses the order."""
    try:
        inquiry = inquire(payment, source=source, user=user, client=client)
    except AntomOutcomeUnknown as exc:
        raise PaymentOutcomeUnknown(
            f"Could not confirm the outcome of this order's open payment ({type(exc).__name__}); retry.",
            payment=payment,
        ) from exc
    _refuse_if_paid([inquiry.payment])
    return inquiry


def _in_progress(payment: Payment, refused: AntomFailed | None) -> PaymentInProgress:
    """Why the order's open payment blocks a new session, as precisely as Antom's answer allows."""
    closes_at = session_closes_at(payment)
    if refused is not None and refused.result_code in NO_SUCH_PAYMENT and closes_at and not session_is_over(payment):
        message = f"This order's payment session may still be paid until {closes_at.isoformat()}; ask again then."
    elif refused is not None:
        message = (
            "This order's payment session cannot be handed out again, and Antom refused the inquiry about it "
            f"({refused.result_code or 'no result code'}), so whether it was paid is not known; "
            "it stays open until Antom answers. Try again later."
        )
    else:
        message = "A payment for this order is still being processed; wait for its result."
    return PaymentInProgress(message, payment=payment)


def _lock_key(reference: str) -> int:
    digest = hashlib.blake2b(f"antom_django.order:{reference}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def order_lock(reference: str) -> Iterator[None]:
    """Serialize checkout per order, across processes.

    The lock is held across the call to Antom (the payment row must commit before it, inside the locked
    section), so it cannot be a transaction: on PostgreSQL it is a session-level advisory lock (inside a
    caller's transaction, a transaction-level one, held until that transaction ends); on a SQLite
    file, a POSIX record lock on one byte of ``<database>.antom-locks`` (every process using the file is on
    this machine), taken after a thread lock because record locks belong to the process. A second caller
    waits, then finds and reuses the first caller's session. Elsewhere (an in-memory SQLite, a platform
    without ``fcntl``) only the threads of this process are serialized.
    """
    key = _lock_key(reference)
    if connection.vendor == "postgresql" and not connection.get_autocommit():
        # In a caller's transaction (ATOMIC_REQUESTS, a task's atomic block) the payment commits with it: the
        # lock must last as long, and a rollback, even of a transaction an error broke, must release it.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
        yield
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    stripe = key % LOCK_STRIPES
    with _thread_locks[stripe], _file_lock(stripe):
        yield


LOCK_STRIPES = 1024
"""Orders share this many locks (by a hash of their reference): bounded memory and lock-file size; two
orders on one stripe only wait for each other."""

_thread_locks = [threading.Lock() for _ in range(LOCK_STRIPES)]


def _lock_file() -> str | None:
    """The record-lock file beside a SQLite database file, or ``None`` where there is none to share."""
    if connection.vendor != "sqlite" or fcntl is None:
        return None
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or "mode=memory" in name or name.startswith("file:"):
        return None
    return f"{name}.antom-locks"


_lock_fds: dict[str, int] = {}
_lock_fds_guard = threading.Lock()


def _lock_fd(path: str) -> int:
    """This process's one descriptor of the lock file, opened once and never closed.

    Closing *any* descriptor of a file drops *every* record lock the process holds on it, so a thread done
    with one order must not close a descriptor while another thread holds an order's lock. A file deleted
    meanwhile is opened anew (the old descriptor stays open: a thread may still hold a lock through it).
    """
    with _lock_fds_guard:
        fd = _lock_fds.get(path)
        if fd is None or os.fstat(fd).st_nlink == 0:
            fd = _lock_fds[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return fd


@contextmanager
def _file_lock(stripe: int) -> Iterator[None]:
    path = _lock_file()
    if path is None or fcntl is None:
        yield
        return
    fd = _lock_fd(path)
    fcntl.lockf(fd, fcntl.LOCK_EX, 1, stripe)
    try:
        yield
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, stripe)
