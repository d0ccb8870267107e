"""Buying at the example shop in a real Chromium, against the simulator over HTTP: the popup and the embedded
experiences, a decline then a retry, 3-D Secure, a payment that settles later, and the capture in the admin."""

from __future__ import annotations

from tests.browser import needs_chromium

from .buyer import APPROVED, DECLINED, EMBEDDED, POPUP, PROCESSING, THREE_D_SECURE, Buyer
from .deployment import Deployment

pytestmark = needs_chromium


def test_popup(buyer: Buyer, shop: Deployment) -> None:
    buyer.open("/")
    buyer.screenshot("products", docs="shop-products.png")
    number = buyer.buy("pour-over-kettle")
    assert buyer.text("#order-total") == "SGD 42.00"
    assert buyer.pay_button().text == "Pay SGD 42.00"
    buyer.open_popup()
    buyer.card_form(POPUP, APPROVED)
    buyer.screenshot("checkout-popup", docs="shop-checkout-popup.png")
    buyer.submit_popup()
    result = buyer.result("authorized")
    assert buyer.text("#payment-status") == "AUTHORIZED"
    assert not buyer.find("#progress").is_displayed() and not buyer.find("#retry").is_displayed()
    assert "Thank you" in buyer.text("#result-title") and "SGD 42.00" in result.text
    buyer.screenshot("result-authorized")
    assert buyer.order_status(number, "awaiting_capture")
    shop.charge(number, "SGD", "4200")


def test_embedded(buyer: Buyer, shop: Deployment) -> None:
    number = buyer.buy("arita-dripper")
    assert buyer.text("#order-total") == "JPY 3800"
    assert not buyer.find("#address-option").is_displayed()  # the popup is the default
    buyer.choose("embedded")
    assert buyer.find("#address-option").is_displayed()
    assert buyer.pay_button().text == "Continue to card details"
    buyer.pay_button().click()
    buyer.card_form(EMBEDDED, "5555555555554444")
    buyer.screenshot("checkout-embedded", docs="shop-checkout-embedded.png")
    assert not buyer.all("[data-antom-sandbox-popup]")
    assert not buyer.pay_button().is_displayed()  # the component's own button pays
    buyer.in_frame(EMBEDDED, lambda: buyer.find("#pay-button").click())
    buyer.authorized(number)
    shop.charge(number, "JPY", "3800")


def test_declined_then_a_retry(buyer: Buyer, shop: Deployment) -> None:
    number = buyer.buy("enamel-mug")
    buyer.pay_in_popup(DECLINED)
    buyer.wait(lambda d: buyer.pay_button().text == "Try again")
    assert buyer.message().startswith("Payment failed (DO_NOT_HONOR).")
    assert "error" in buyer.find("#checkout-message").get_attribute("class")
    assert not buyer.all("[data-antom-sandbox-popup]")
    buyer.screenshot("checkout-declined")
    buyer.pay_in_popup(APPROVED)  # "Try again": a new session once the shop knows the first payment failed
    buyer.authorized(number)
    first, second = shop.payments(number)
    assert (first["status"], first["result_code"], second["status"]) == ("FAILED", "DO_NOT_HONOR", "AUTHORIZED")
    assert first["session_id"] != second["session_id"]
    assert [p["paymentStatus"] for p in shop.at_simulator(number)] == ["FAIL", "SUCCESS"]


def test_three_d_secure(buyer: Buyer, shop: Deployment) -> None:
    number = buyer.buy("loose-leaf-tea")
    buyer.pay_in_popup(THREE_D_SECURE)
    buyer.in_frame(POPUP, lambda: buyer.wait_for("#challenge-pass").click())
    buyer.authorized(number)
    shop.charge(number, "USD", "1250")


def test_processing_then_settled(buyer: Buyer, shop: Deployment) -> None:
    number = buyer.buy("pour-over-kettle")
    buyer.pay_in_popup(PROCESSING)
    buyer.result("pending")  # the simulator settles it SETTLE_DELAY seconds after the payment
    assert buyer.find("#progress").is_displayed()
    assert buyer.text("#payment-status") in {"INITIATED", "PENDING", "PROCESSING"}
    buyer.screenshot("result-pending", docs="shop-result-pending.png")
    buyer.wait(lambda d: buyer.find("#result").get_attribute("data-state") == "authorized")  # no reload
    assert not buyer.find("#progress").is_displayed()
    assert buyer.text("#payment-status") == "AUTHORIZED"
    assert "Thank you" in buyer.text("#result-title")
    assert buyer.order_status(number, "awaiting_capture")
    assert len(shop.charges(number)) == 1


def test_capture_in_the_admin(buyer: Buyer, shop: Deployment) -> None:
    number = buyer.buy("enamel-mug")
    buyer.pay_in_popup(APPROVED)
    buyer.authorized(number)

    buyer.open("/admin/login/?next=/admin/shop/order/")
    buyer.find("#id_username").send_keys("admin")
    buyer.find("#id_password").send_keys("antom-demo")
    buyer.find("input[type=submit]").click()
    buyer.wait(lambda d: d.current_url.endswith("/admin/shop/order/"))
    row = buyer.wait(lambda d: next((r for r in buyer.all("#result_list tbody tr") if number in r.text), None))
    row.find_element("css selector", "a[href*='/admin/antom_django/payment/']").click()
    buyer.wait_for("#antom-action-capture").click()
    buyer.wait(lambda d: "Capture payment" in buyer.text("body"))
    buyer.find("input[name=_confirm]").click()  # no amount: all of it
    buyer.wait(lambda d: "Captured 18.00 SGD" in buyer.text("body"))

    assert buyer.order_status(number, "shipped")
    buyer.screenshot("order-shipped")
    charge = shop.charge(number, "SGD", "1800")
    captures = [(t["transactionType"], t["transactionStatus"], t["transactionAmount"]) for t in charge["transactions"]]
    assert captures == [("CAPTURE", "SUCCESS", {"currency": "SGD", "value": "1800"})]
