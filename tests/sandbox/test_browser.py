"""The JavaScript SDK stand-in in a real headless Chromium: popup and embedded, success and decline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from antom_django.client import Amount, AntomClient
from antom_django.sandbox import SandboxServer
from tests.browser import needs_chromium, start_chromium, wait_until

from .conftest import create_session

pytestmark = needs_chromium

SHOP_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>shop</title></head>
<body>
<h1>Checkout</h1>
<div id="ContainerNodeId"></div>
<script src="{sdk}"></script>
<script>
  window.events = [];
  window.logs = [];
  AMSCashierPayment.preload();
  window.checkoutApp = new window.AMSCashierPayment({{
    environment: "sandbox",
    locale: "en_US",
    onLog: function (log) {{ window.logs.push(log); }},
    onEventCallback: function (event) {{ window.events.push(event); }},
  }});
</script>
</body></html>
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        return


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, antom_sandbox_server: SandboxServer) -> Iterator[str]:
    """A merchant site on another origin whose page loads the SDK stand-in from the simulator."""
    root = tmp_path_factory.mktemp("shop")
    (root / "checkout.html").write_text(SHOP_PAGE.format(sdk=f"{antom_sandbox_server.url}/sdk/ams-checkout.js"))
    (root / "result.html").write_text("<!doctype html><title>result</title><p id='result'>back at the shop</p>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = start_chromium(script_timeout=20)
    yield driver
    driver.quit()


def events(driver: Any) -> list[dict[str, Any]]:
    return list(driver.execute_script("return window.events"))


def wait_for_event(driver: Any, code: str) -> dict[str, Any]:
    wait_until(driver, lambda d: any(e["code"] == code for e in events(d)))
    return next(e for e in events(driver) if e["code"] == code)


def open_checkout(driver: Any, shop: str) -> None:
    driver.get(f"{shop}/checkout.html")
    wait_until(driver, lambda d: d.execute_script("return !!window.checkoutApp"))


def run(driver: Any, script: str, *args: Any) -> Any:
    """Run async JS: the last argument is the callback, ``script`` awaits a promise into ``done``."""
    return driver.execute_async_script("var done = arguments[arguments.length - 1];" + script, *args)


def fill_card(driver: Any, number: str, expiry: str = "12/34", cvv: str = "123") -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    frame = wait_until(driver, lambda d: d.find_element(By.CSS_SELECTOR, "iframe[data-antom-sandbox]"))
    driver.switch_to.frame(frame)
    wait_until(driver, lambda d: d.find_element(By.ID, "card-number").is_displayed())
    driver.find_element(By.ID, "card-number").send_keys(number)
    driver.find_element(By.ID, "card-expiry").send_keys(expiry)
    driver.find_element(By.ID, "card-cvv").send_keys(cvv)


def click_in_frame(driver: Any, element_id: str) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    wait_until(driver, lambda d: d.find_element(By.ID, element_id).is_displayed())
    driver.find_element(By.ID, element_id).click()


POPUP = "window.checkoutApp.createComponent({sessionData: arguments[0], notRedirectAfterComplete: true}).then(function () { done(true); });"
EMBED = (
    "window.checkoutApp.mountComponent({sessionData: arguments[0], notRedirectAfterComplete: true,"
    " appearance: {showSubmitButton: false}}, '#ContainerNodeId').then(function () { done(true); });"
)


@pytest.mark.parametrize(
    ("card", "code", "result_code"),
    [
        ("4242424242424242", "SDK_PAYMENT_SUCCESSFUL", "SUCCESS"),
        ("4000000000000002", "SDK_PAYMENT_FAIL", "DO_NOT_HONOR"),
    ],
)
def test_popup(
    browser: Any, shop: str, sandbox: SandboxServer, client: AntomClient, card: str, code: str, result_code: str
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    session = create_session(client)
    open_checkout(browser, shop)
    assert run(browser, POPUP, session.payment_session_data) is True
    assert [e["code"] for e in events(browser)][:2] == ["SDK_START_OF_LOADING", "SDK_END_OF_LOADING"]
    assert browser.find_elements(By.CSS_SELECTOR, "[data-antom-sandbox-popup] iframe")
    fill_card(browser, card)
    click_in_frame(browser, "pay-button")
    browser.switch_to.default_content()
    event = wait_for_event(browser, code)
    assert event["result"]["paymentResultCode"] == result_code
    payment = client.inquiry_payment(payment_id=_payment_id(sandbox, session))
    assert payment.payment_result_code == result_code
    browser.execute_script("window.checkoutApp.unmount()")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-antom-sandbox-popup]")


def _payment_id(sandbox: SandboxServer, session: Any) -> str:
    with sandbox.sim.store.lock:
        return sandbox.sim.store.sessions[session.payment_session_id].payment_id


def test_popup_three_d_secure_and_close(browser: Any, shop: str, sandbox: SandboxServer, client: AntomClient) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    session = create_session(client)
    open_checkout(browser, shop)
    run(browser, POPUP, session.payment_session_data)
    fill_card(browser, "4000000000003220")
    click_in_frame(browser, "pay-button")
    click_in_frame(browser, "challenge-pass")
    browser.switch_to.default_content()
    wait_for_event(browser, "SDK_PAYMENT_SUCCESSFUL")
    assert client.inquiry_payment(payment_id=_payment_id(sandbox, session)).payment_status == "SUCCESS"

    other = create_session(client)
    open_checkout(browser, shop)
    run(browser, POPUP, other.payment_session_data)
    browser.find_element(By.CSS_SELECTOR, "[data-antom-sandbox-close]").click()
    wait_for_event(browser, "SDK_PAYMENT_CANCEL")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-antom-sandbox-popup]")


def test_embedded_submit_success(browser: Any, shop: str, sandbox: SandboxServer, client: AntomClient) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    session = create_session(client)
    open_checkout(browser, shop)
    run(browser, EMBED, session.payment_session_data)
    assert browser.find_elements(By.CSS_SELECTOR, "#ContainerNodeId iframe[data-antom-sandbox='embedded']")
    fill_card(browser, "5555555555554444")
    assert not browser.find_element(By.ID, "pay-button").is_displayed()  # showSubmitButton: false
    browser.switch_to.default_content()
    assert run(browser, "window.checkoutApp.validateFields().then(done);") == {"isValid": True}
    answer = run(
        browser,
        "window.checkoutApp.submit({billingAddress: {region: 'SG', city: 'Singapore', zipCode: '018956'}}).then(done);",
    )
    assert answer["code"] == "SDK_PAYMENT_SUCCESSFUL"
    wait_for_event(browser, "SDK_PAYMENT_SUCCESSFUL")
    inquiry = client.inquiry_payment(payment_id=_payment_id(sandbox, session))
    assert (inquiry.payment_status, inquiry.raw["paymentResultInfo"]["avsResultRaw"]) == ("SUCCESS", "Y")


def test_embedded_form_errors_then_decline(
    browser: Any, shop: str, sandbox: SandboxServer, client: AntomClient
) -> None:
    session = create_session(client)
    open_checkout(browser, shop)
    run(browser, EMBED, session.payment_session_data)
    assert run(browser, "window.checkoutApp.validateFields().then(done);") == {"isValid": False}
    empty = run(browser, "window.checkoutApp.submit({billingAddress: {region: 'SG'}}).then(done);")
    assert empty["code"] == "SDK_FORM_VERIFICATION_FAILED"
    wait_for_event(browser, "SDK_FORM_VERIFICATION_FAILED")
    bad_region = run(browser, "window.checkoutApp.submit({billingAddress: {region: 'Singapore'}}).then(done);")
    assert bad_region["code"] == "SDK_FORM_VERIFICATION_FAILED"
    fill_card(browser, "4000000000009995")
    browser.switch_to.default_content()
    answer = run(browser, "window.checkoutApp.submit({billingAddress: {region: 'SG'}}).then(done);")
    assert answer["code"] == "SDK_PAYMENT_FAIL"
    event = wait_for_event(browser, "SDK_PAYMENT_FAIL")
    assert event["result"]["paymentResultCode"] == "USER_BALANCE_NOT_ENOUGH"
    assert client.inquiry_payment(payment_id=_payment_id(sandbox, session)).payment_status == "FAIL"


def test_redirects_to_payment_redirect_url(browser: Any, shop: str, client: AntomClient) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    session = client.create_payment_session(
        payment_request_id="pay-redirect-" + shop.rsplit(":", 1)[-1],
        amount=Amount("JPY", 4200),
        redirect_url=f"{shop}/result.html",
        reference_order_id="order-redirect",
        order_description="redirect",
    )
    open_checkout(browser, shop)
    run(
        browser,
        "window.checkoutApp.createComponent({sessionData: arguments[0]}).then(function () { done(true); });",
        session.payment_session_data,
    )
    fill_card(browser, "4242424242424242")
    click_in_frame(browser, "pay-button")
    browser.switch_to.default_content()
    wait_until(browser, lambda d: d.current_url == f"{shop}/result.html")
    assert browser.find_element(By.ID, "result").text == "back at the shop"


def test_bad_session_data(browser: Any, shop: str) -> None:
    open_checkout(browser, shop)
    run(browser, "window.checkoutApp.createComponent({sessionData: 'garbage'}).then(function () { done(true); });")
    assert [e["code"] for e in events(browser)] == ["SDK_START_OF_LOADING", "SDK_CREATEPAYMENT_PARAMETER_ERROR"]
    assert run(browser, "window.checkoutApp.submit().then(done);")["code"] == "SDK_SUBMIT_ERROR"


def test_finished_session_reports_an_error(
    browser: Any, shop: str, sandbox: SandboxServer, client: AntomClient
) -> None:
    session = create_session(client)
    sandbox.expire(session.payment_session_data)
    open_checkout(browser, shop)
    run(browser, EMBED, session.payment_session_data)
    event = wait_for_event(browser, "SDK_PAYMENT_ERROR")
    assert "expired" in event["message"]
