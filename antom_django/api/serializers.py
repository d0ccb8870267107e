"""Request and response bodies of the API (camelCase, as Antom and its web SDK name them)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..client.money import Amount, format_amount
from .schema import extend_schema_field


class AmountSerializer(serializers.Serializer):
    """An amount as Antom writes it: integer minor units as a string, with its ISO 4217 currency."""

    currency = serializers.CharField(help_text="ISO 4217 code, e.g. SGD.")
    value = serializers.CharField(help_text="Integer minor units as a string: 4200 SGD is 42.00.")


def amount(value: int, currency: str) -> dict[str, str]:
    return Amount(currency=currency, value=value).to_wire()


class SessionRequestSerializer(serializers.Serializer):
    """What the browser sends: only a reference to the shop's own order. Any amount sent is ignored."""

    referenceOrderId = serializers.CharField(  # noqa: N815 - wire name
        max_length=64,
        help_text="The shop's order reference; the server's adapter resolves amount, currency and goods from it.",
    )


class SessionResponseSerializer(serializers.Serializer):
    """What Antom's web, iOS and Android SDKs need to render the checkout, plus the id for the result page."""

    paymentRequestId = serializers.CharField(help_text="Our id for this payment; poll payments/<id>/ with it.")  # noqa: N815
    paymentSessionId = serializers.CharField()  # noqa: N815
    paymentSessionData = serializers.CharField(  # noqa: N815
        help_text="The SDKs' `sessionData` (web createComponent, iOS / Android createComponent / mountComponent)."
    )
    paymentSessionExpiryTime = serializers.DateTimeField(allow_null=True)  # noqa: N815
    referenceOrderId = serializers.CharField()  # noqa: N815
    amount = AmountSerializer()
    environment = serializers.ChoiceField(
        choices=["sandbox", "prod"],
        help_text="The SDKs' environment: web `environment`; iOS and Android option `sandbox` = "
        "`environment == 'sandbox'`. Must match the environment the session was created in.",
    )
    locale = serializers.CharField(
        allow_null=True,
        help_text='Language hint for the SDKs (web `locale`, e.g. en_US; Android `new Locale("en", "US")`); '
        "null: the SDK's default (English).",
    )
    reused = serializers.BooleanField(help_text="True when an unexpired session of this order was returned again.")


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer of sessions/ and payments/."""

    detail = serializers.CharField()
    code = serializers.CharField()
    paymentRequestId = serializers.CharField(required=False)  # noqa: N815


class CardSerializer(serializers.Serializer):
    brand = serializers.CharField(allow_blank=True)
    last4 = serializers.CharField(allow_blank=True)


class PaymentStatusSerializer(serializers.Serializer):
    """What a result page may show: status and amounts, no session data, keys or raw gateway payloads."""

    paymentRequestId = serializers.CharField(source="payment_request_id")  # noqa: N815
    referenceOrderId = serializers.CharField(source="reference_order_id")  # noqa: N815
    status = serializers.CharField()
    isFinal = serializers.BooleanField(source="is_final")  # noqa: N815
    isPending = serializers.BooleanField(source="is_pending")  # noqa: N815
    amount = serializers.SerializerMethodField()
    capturedAmount = serializers.SerializerMethodField()  # noqa: N815
    refundedAmount = serializers.SerializerMethodField()  # noqa: N815
    displayAmount = serializers.SerializerMethodField()  # noqa: N815
    resultCode = serializers.CharField(source="result_code", allow_blank=True)  # noqa: N815
    resultMessage = serializers.CharField(source="result_message", allow_blank=True)  # noqa: N815
    card = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at")  # noqa: N815

    @extend_schema_field(AmountSerializer)
    def get_amount(self, obj: Any) -> dict[str, str]:
        return amount(obj.amount, obj.currency)

    @extend_schema_field(AmountSerializer)
    def get_capturedAmount(self, obj: Any) -> dict[str, str]:  # noqa: N802
        return amount(obj.captured_amount or 0, obj.currency)

    @extend_schema_field(AmountSerializer)
    def get_refundedAmount(self, obj: Any) -> dict[str, str]:  # noqa: N802
        return amount(obj.refunded_amount or 0, obj.currency)

    def get_displayAmount(self, obj: Any) -> str:  # noqa: N802
        return format_amount(obj.amount, obj.currency)

    @extend_schema_field(CardSerializer(allow_null=True))
    def get_card(self, obj: Any) -> dict[str, str] | None:
        brand = getattr(obj, "card_brand", "") or ""
        last4 = getattr(obj, "card_last4", "") or ""
        if not brand and not last4:
            return None
        return {"brand": brand, "last4": last4}
