"""One deployment of the example shop and one Chromium for the package; each test is a new guest buyer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import start_chromium

from .buyer import ARTIFACTS, Buyer
from .deployment import Deployment, deployed


@pytest.fixture(scope="package")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with deployed(tmp_path_factory.mktemp("e2e")) as deployment:
        yield deployment
        for name, process in deployment.processes.items():  # none died along the way
            assert process.alive(), f"the {name} exited during the tests\n{process.output()[-4000:]}"


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    driver = start_chromium("--window-size=1280,900", "--hide-scrollbars")
    yield driver
    driver.quit()


@pytest.fixture
def buyer(chromium: Any, shop: Deployment) -> Buyer:
    """A guest with no cookies and one tab."""
    for handle in chromium.window_handles[1:]:
        chromium.switch_to.window(handle)
        chromium.close()
    chromium.switch_to.window(chromium.window_handles[0])
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chromium.get("about:blank")
    return Buyer(chromium, shop)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test leaves a screenshot of the page in the artifacts and the processes' output in its report."""
    outcome = yield
    report = outcome.get_result()
    buyer = getattr(item, "funcargs", {}).get("buyer")
    if report.when != "call" or not report.failed or not isinstance(buyer, Buyer):
        return
    try:
        driver = buyer.driver
        driver.switch_to.default_content()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"FAILED-{item.name}.png"))
        report.sections.append(("page", f"{driver.current_url}\n{driver.find_element('tag name', 'body').text}"))
    except Exception as exc:  # noqa: BLE001 - the browser may be what failed
        report.sections.append(("page", f"no screenshot: {exc!r}"))
    for name, output in buyer.shop.logs().items():
        report.sections.append((f"{name} output (tail)", output))
