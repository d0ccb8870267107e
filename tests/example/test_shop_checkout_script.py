"""``shop/static/shop/checkout.js`` uses Antom's web SDK as the guide shows and handles every event code.

The browser flows themselves run in real Chromium (the end-to-end tests); this guards the script's contract
with the SDK, which the simulator's stand-in and Antom's own SDK share.
"""

from __future__ import annotations

import re

import pytest

from tests.processes import ROOT

SCRIPT = (ROOT / "example_project" / "shop" / "static" / "shop" / "checkout.js").read_text()

EVENT_CODES = [
    # the guide's payment results
    "SDK_PAYMENT_SUCCESSFUL",
    "SDK_PAYMENT_PROCESSING",
    "SDK_PAYMENT_FAIL",
    "SDK_PAYMENT_CANCEL",
    "SDK_PAYMENT_ERROR",
    # form and parameters
    "SDK_FORM_VERIFICATION_FAILED",
    "SDK_CREATEPAYMENT_PARAMETER_ERROR",
    "SDK_INIT_PARAMETER_ERROR",
    "SDK_CREATECOMPONENT_ERROR",
    "SDK_SUBMIT_ERROR",
    # lifecycle and the other codes of @alipay/ams-checkout
    "SDK_START_OF_LOADING",
    "SDK_END_OF_LOADING",
    "SDK_INTERNAL_ERROR",
    "SDK_REQUEST_TIMEOUT",
    "SDK_INIT_TIMEOUT",
    "SDK_CALL_URL_SUCCESS",
    "SDK_CALL_URL_ERROR",
    "SDK_REDIRECT",
    "SDK_LAUNCH_PAYMENT_APP_ERROR",
    "SDK_PAYMENT_CLICK_BACK_TO_MERCHANT",
]


@pytest.mark.parametrize("code", EVENT_CODES)
def test_each_event_code_has_its_case(code: str) -> None:
    assert SCRIPT.count(f'case "{code}":') == 1


@pytest.mark.parametrize(
    "call",
    [
        r"window\.AMSCashierPayment\.preload\(\)",
        r"new window\.AMSCashierPayment\(\{\s*environment: .*\n\s*locale: .*\n\s*onLog: onLog,\s*onEventCallback: onEventCallback,",
        r"\.createComponent\(\{ sessionData: session\.paymentSessionData, notRedirectAfterComplete: true \}\)",
        r"\.mountComponent\(\s*\{\s*sessionData: session\.paymentSessionData,\s*appearance: \{ showSubmitButton: !ownButton \},",
        r'"#card-container"\s*\)',
        r"\.submit\(\{ billingAddress: billingAddress\(\) \}\)",
        r"checkoutApp\.unmount\(\)",
        r'addEventListener\("pagehide", release\)',
        r'"X-CSRFToken": cfg\.csrfToken',
        r"JSON\.stringify\(\{ referenceOrderId: cfg\.order \}\)",
    ],
)
def test_the_sdk_is_called_as_the_guide_shows(call: str) -> None:
    assert re.search(call, SCRIPT), call


def test_the_script_sends_no_amount() -> None:
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", SCRIPT, flags=re.DOTALL)  # without its comments
    assert "amount" not in code.lower()
