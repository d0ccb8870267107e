"""The overridable adapter: how a shop's orders, buyers and URLs meet antom_django.

Subclass :class:`AntomAdapter`, override what your shop needs and name the class
in ``ANTOM["ADAPTER"]``; everything in the package that needs to know about the
merchant's orders asks :func:`get_adapter` instead of reading a dozen settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.utils.module_loading import import_string
from django.utils.translation import get_language, to_locale

from .client.money import Amount
from .conf import SETTING_NAME, antom_settings

if TYPE_CHECKING:
    from django.db.models import Model
    from django.http import HttpRequest

    from .models import Payment

SESSION_KEY = "antom_payment_request_ids"
"""Session key holding the payment request ids this browser session created (guest checkout)."""

SESSION_KEEP = 20


class OrderNotFound(Exception):
    """The reference does not name an order this caller can see."""


class OrderNotPayable(Exception):
    """The order exists but this caller may not pay for it (or it needs no payment)."""


class OrderNeedsLogin(Exception):
    """The reference names a user's order and the caller is not logged in: logging in may let them pay.

    Raise it from :meth:`AntomAdapter.resolve_order` instead of :class:`OrderNotFound` when your lookup
    for an anonymous caller finds a user's order; ``POST sessions/`` answers 403 ``login_required``
    (401 with an authentication class that sends ``WWW-Authenticate``).
    """


SDK_LOCALES = ("en_US", "es_ES", "fr_FR", "nl_NL", "it_IT", "de_DE", "zh_CN", "zh_HK", "pt_PT", "ro", "pl_PL")
"""The ``locale`` values Antom's client SDKs accept; anything else shows English."""

_SDK_LOCALE_ALIASES = {"zh_Hant": "zh_HK", "zh_TW": "zh_HK", "zh_Hans": "zh_CN", "pt_BR": "pt_PT"}


@dataclass(frozen=True)
class OrderInfo:
    """What a payment session needs to know about one merchant order.

    ``amount`` always comes from the merchant's own records; ``buyer`` and ``goods``
    are passed to Antom as ``order.buyer`` / ``order.goods`` (Antom's field names).
    """

    reference_order_id: str
    amount: Amount
    description: str
    order: Model | None = None
    user: Any = None
    buyer: Mapping[str, Any] | None = None
    goods: list[Mapping[str, Any]] | None = field(default=None)


class AntomAdapter:
    """Hooks between antom_django and the shop; the defaults are safe but know no orders."""

    def resolve_order(self, request: HttpRequest, reference: str) -> OrderInfo:
        """Turn the client's order reference into :class:`OrderInfo`, or raise :class:`OrderNotFound`.

        Look the order up in your own tables, scoped to ``request.user`` (or the
        session for guests), so one buyer cannot probe another's references.
        """
        raise NotImplementedError(
            f"{type(self).__name__}.resolve_order is not implemented: subclass "
            "antom_django.adapter.AntomAdapter and name it in "
            f"{SETTING_NAME}['ADAPTER']"
        )

    def can_pay(self, request: HttpRequest, info: OrderInfo) -> bool:
        """May this caller pay for this order? Default: orders of a user only by that user."""
        if info.user is None:
            return True
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and user.pk == info.user.pk)

    def needs_login(self, request: HttpRequest, info: OrderInfo) -> bool:
        """When :meth:`can_pay` says no, is it because the caller should log in? Default: a user's order
        and an anonymous caller."""
        user = getattr(request, "user", None)
        return info.user is not None and not (user is not None and user.is_authenticated)

    def get_locale(self, request: HttpRequest, info: OrderInfo) -> str | None:
        """The ``locale`` hint for the client SDKs (``en_US``, ``zh_HK``, ...; ``None`` lets the SDK choose).

        Default: Django's active language (``LocaleMiddleware``, ``LANGUAGE_CODE``) when the SDKs support it,
        else the supported locale of the same language, else ``None``.
        """
        name = to_locale(get_language() or "")
        name = _SDK_LOCALE_ALIASES.get(name, name)
        if name in SDK_LOCALES:
            return name
        language = name.split("_")[0]
        return next((known for known in SDK_LOCALES if known.split("_")[0] == language), None)

    def can_view_payment(self, request: HttpRequest, payment: Payment) -> bool:
        """May this caller see a payment's status? Default: its owner, staff, or the guest session that made it."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if user.is_staff:
                return True
            if payment.user_id is not None:
                return bool(payment.user_id == user.pk)
        if payment.user_id is not None:
            return False
        session = getattr(request, "session", None)
        return session is not None and payment.payment_request_id in session.get(SESSION_KEY, [])

    def remember_payment(self, request: HttpRequest, payment: Payment) -> None:
        """Remember a guest's payment in the session so the result page may poll it."""
        session = getattr(request, "session", None)
        if session is None:
            return
        ids = [i for i in session.get(SESSION_KEY, []) if i != payment.payment_request_id]
        session[SESSION_KEY] = [*ids, payment.payment_request_id][-SESSION_KEEP:]

    def get_redirect_url(self, request: HttpRequest, info: OrderInfo) -> str:
        """Where Antom sends the buyer back (``paymentRedirectUrl``).

        Default: ``REDIRECT_URL`` with ``?order=<reference>`` appended, so the
        result page knows which order it shows.
        """
        base = antom_settings.REDIRECT_URL
        if not base:
            raise NotImplementedError(f"set {SETTING_NAME}['REDIRECT_URL'] or override get_redirect_url()")
        return add_query(str(base), order=info.reference_order_id)

    def get_notify_url(self, request: HttpRequest, info: OrderInfo) -> str | None:
        """``paymentNotifyUrl``; ``None`` leaves it to the URL configured in Antom's Dashboard."""
        value = antom_settings.NOTIFY_URL
        return str(value) if value else None

    def capture_delay(self, payment: Payment) -> bool | float:
        """When to capture this authorization automatically, asked once when Antom authorizes it.

        ``False`` holds it: staff or the shop's code capture it (``services.capture``), e.g. per shipment
        or after a risk review; ``True`` captures it at once; a number captures it after that many
        seconds (time to cancel an order first). Default: ``AUTO_CAPTURE``. It runs inside the
        transaction that applies Antom's news; if it raises, the payment is held and flagged for review.
        Payments Antom captures itself (no ``isAuthorization``) never ask::

            class ShopAdapter(AntomAdapter):
                def capture_delay(self, payment):
                    order = payment.order
                    if order.risk_score > 80:
                        return False  # staff review it, then capture in the admin
                    if order.ships_in_parts:
                        return False  # services.capture(payment, amount) at each shipment
                    return 30 * 60  # half an hour to cancel, then capture
        """
        return antom_settings.AUTO_CAPTURE


def add_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query string."""
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def get_adapter_class() -> type[AntomAdapter]:
    """The adapter class named in ``ANTOM["ADAPTER"]``."""
    path = antom_settings.ADAPTER
    cls = import_string(path) if isinstance(path, str) else path
    if not (isinstance(cls, type) and issubclass(cls, AntomAdapter)):
        raise TypeError(f"{SETTING_NAME}['ADAPTER'] must name a subclass of antom_django.adapter.AntomAdapter")
    return cls


def get_adapter() -> AntomAdapter:
    """An instance of the configured adapter."""
    return get_adapter_class()()
