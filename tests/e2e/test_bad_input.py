"""What buyers do wrong at the example shop, in a real Chromium: each ends on a sensible page with the order in
the right state, and the simulator charged the order's amount once."""

from __future__ import annotations

from tests.browser import needs_chromium

from .buyer import APPROVED, POPUP, Buyer
from .deployment import Deployment

pytestmark = needs_chromium

TAMPER = """
document.getElementById('order-total').textContent = 'SGD 0.01';
document.getElementById('checkout').dataset.total = 'SGD 0.01';
document.getElementById('pay-button').textContent = 'Pay SGD 0.01';
window.sent = [];
var original = window.fetch;
window.fetch = function (url, options) {
  if (options && options.method === 'POST' && String(url).indexOf('/antom/sessions/') >= 0) {
    var body = JSON.parse(options.body);
    body.amount = {currency: 'SGD', value: '1'};
    body.paymentAmount = {currency: 'SGD', value: '1'};
    body.price = '0.01';
    options = Object.assign({}, options, {body: JSON.stringify(body)});
    window.sent.push(options.body);
  }
  return original.call(this, url, options);
};
"""
"""The checkout page edited in the browser: the total shown, and an amount added to the session request."""


def test_a_tampered_price(buyer: Buyer, shop: Deployment) -> None:
    tampered = {"price": "0.01", "amount": "1", "currency": "JPY", "total_minor": "1"}
    number = buyer.buy("pour-over-kettle", extra_fields=tampered)
    assert buyer.text("#order-total") == "SGD 42.00"
    assert shop.order(number) == {"status": "awaiting_payment", "currency": "SGD", "total_minor": 4200}
    buyer.driver.execute_script(TAMPER)
    buyer.open_popup()
    assert '"value":"1"' in buyer.driver.execute_script("return window.sent.join()")  # the tampered request went
    assert buyer.in_frame(POPUP, lambda: buyer.text("#amount")) in {"SGD 42.00", "42.00 SGD"}
    buyer.card_form(POPUP, APPROVED)
    buyer.submit_popup()
    buyer.authorized(number)
    (payment,) = shop.payments(number)
    assert (payment["amount"], payment["currency"]) == (4200, "SGD")
    (charged,) = shop.at_simulator(number)
    assert (charged["paymentStatus"], charged["paymentAmount"]) == ("SUCCESS", {"currency": "SGD", "value": "4200"})


def test_a_double_clicked_pay_button(buyer: Buyer, shop: Deployment) -> None:
    from selenium.webdriver.common.action_chains import ActionChains  # noqa: PLC0415

    number = buyer.buy("enamel-mug")
    ActionChains(buyer.driver).double_click(buyer.pay_button()).perform()
    buyer.driver.execute_script("arguments[0].click(); arguments[0].click();", buyer.pay_button())
    buyer.card_form(POPUP, APPROVED)
    assert len(buyer.all("[data-antom-sandbox-popup]")) == 1
    buyer.submit_popup()
    buyer.authorized(number)
    assert len(shop.payments(number)) == 1
    assert len(shop.charges(number)) == 1


def test_returning_to_an_expired_session(buyer: Buyer, shop: Deployment) -> None:
    number = buyer.buy("loose-leaf-tea")
    buyer.open_popup()
    (payment,) = shop.payments(number)
    assert shop.expire_session(payment["session_id"])["paymentStatus"] == "FAIL"  # while the buyer was away
    buyer.card_form(POPUP, APPROVED)  # back at the popup left open
    buyer.submit_popup()
    buyer.wait(lambda d: buyer.pay_button().text == "Try again")
    assert buyer.message().startswith("Payment failed")
    assert not buyer.all("[data-antom-sandbox-popup]")
    buyer.screenshot("checkout-expired")
    buyer.pay_in_popup(APPROVED)  # a new session
    buyer.authorized(number)
    expired, paid = shop.payments(number)
    assert (expired["status"], expired["result_code"], paid["status"]) == ("FAILED", "ORDER_IS_CLOSED", "AUTHORIZED")
    assert [p["paymentStatus"] for p in shop.at_simulator(number)] == ["FAIL", "SUCCESS"]


def test_the_back_button_after_paying(buyer: Buyer, shop: Deployment) -> None:
    number = buyer.buy("pour-over-kettle")
    buyer.pay_in_popup(APPROVED)
    buyer.result("authorized")
    buyer.driver.back()
    buyer.wait(lambda d: d.current_url.endswith(f"/checkout/{number}/"))
    assert buyer.wait_for("#order-status").get_attribute("data-status") == "awaiting_capture"
    assert not buyer.all("#pay-button") and not buyer.all(POPUP)
    buyer.screenshot("checkout-after-back")
    assert len(shop.payments(number)) == 1
    assert len(shop.charges(number)) == 1


def test_two_tabs_paying_the_same_order(buyer: Buyer, shop: Deployment) -> None:
    driver = buyer.driver
    number = buyer.buy("arita-dripper")
    first = driver.current_window_handle
    buyer.open_popup()
    driver.switch_to.new_window("tab")
    second = driver.current_window_handle
    buyer.open(f"/checkout/{number}/")
    buyer.open_popup()  # both tabs show a card form

    driver.switch_to.window(first)
    buyer.card_form(POPUP, APPROVED)
    buyer.submit_popup()
    buyer.result("authorized")

    driver.switch_to.window(second)
    buyer.card_form(POPUP, "5555555555554444")
    buyer.submit_popup()
    buyer.result("authorized")  # the order's payment, made in the other tab
    buyer.screenshot("two-tabs-second")
    assert buyer.order_status(number, "awaiting_capture")
    assert len(shop.charges(number)) == 1
