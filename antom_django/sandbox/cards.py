"""Test cards of the hosted checkout and what each one makes the simulator do."""

from __future__ import annotations

from dataclasses import dataclass

APPROVE = "approve"
DECLINE = "decline"
CHALLENGE = "challenge"
PROCESSING = "processing"
EXPIRE = "expire"
CAPTURE_FAILS = "capture_fails"


@dataclass(frozen=True, slots=True)
class TestCard:
    """One test card: its behaviour and the masked facts Antom would report."""

    number: str
    behaviour: str
    brand: str = "VISA"
    funding: str = "CREDIT"
    issuing_country: str = "US"
    result_code: str = "SUCCESS"
    result_message: str = "success"
    settles_to: str = "SUCCESS"
    description: str = ""


TEST_CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        TestCard("4242424242424242", APPROVE, description="approved"),
        TestCard("5555555555554444", APPROVE, "MASTERCARD", "DEBIT", "SG", description="approved (debit)"),
        TestCard(
            "4000000000000002",
            DECLINE,
            result_code="DO_NOT_HONOR",
            result_message="The issuing bank declined the payment.",
            description="declined: DO_NOT_HONOR",
        ),
        TestCard(
            "4000000000009995",
            DECLINE,
            result_code="USER_BALANCE_NOT_ENOUGH",
            result_message="The card does not have enough funds.",
            description="declined: USER_BALANCE_NOT_ENOUGH",
        ),
        TestCard(
            "4000000000000069",
            DECLINE,
            result_code="INVALID_EXPIRATION_DATE",
            result_message="The card has expired or the expiry date is wrong.",
            description="declined: INVALID_EXPIRATION_DATE",
        ),
        TestCard(
            "4100000000000019",
            DECLINE,
            result_code="RISK_REJECT",
            result_message="The payment was rejected for risk reasons.",
            description="declined: RISK_REJECT",
        ),
        TestCard("4000000000003220", CHALLENGE, description="3-D Secure challenge, then approved or failed"),
        TestCard("4000000000000259", PROCESSING, description="PROCESSING, settles SUCCESS later"),
        TestCard(
            "4000000000000267",
            PROCESSING,
            result_code="DO_NOT_HONOR",
            result_message="The issuing bank declined the payment.",
            settles_to="FAIL",
            description="PROCESSING, settles FAIL (DO_NOT_HONOR) later",
        ),
        TestCard("4000000000000119", EXPIRE, description="the session expires (ORDER_IS_CLOSED)"),
        TestCard("4000000000000341", CAPTURE_FAILS, description="approved; every capture fails (PROCESS_FAIL)"),
    )
}

CHALLENGE_FAILED = ("THREEDS_AUTHENTICATION_FAILED", "The buyer failed 3-D Secure authentication.")


def luhn_valid(number: str) -> bool:
    """The card-number checksum every real card passes."""
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        digit = int(ch)
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    """The card scheme from its leading digits (enough for test numbers)."""
    if number.startswith("4"):
        return "VISA"
    if number[:2] in ("34", "37"):
        return "AMEX"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4] or 0) <= 2720:
        return "MASTERCARD"
    if number.startswith("35"):
        return "JCB"
    if number.startswith("62"):
        return "UNIONPAY"
    return "VISA"


def card_for(number: str) -> TestCard:
    """The test card for ``number``; any other valid number is approved."""
    known = TEST_CARDS.get(number)
    if known is not None:
        return known
    return TestCard(number, APPROVE, brand=brand_of(number), description="approved")


def mask(number: str) -> str:
    """Stars for all but the last four digits, as Antom reports ``cardNo``."""
    return "*" * (len(number) - 4) + number[-4:]
