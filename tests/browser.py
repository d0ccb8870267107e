"""Debian's Chromium under Selenium for the browser tests: the binaries, their mark, a driver, waiting.

Headless with ``--no-sandbox --disable-background-networking``; nothing is downloaded at run time (``.ci/run``
installs ``chromium`` and ``chromium-driver`` with apt). Without them the tests are skipped, which CI
(``ANTOM_TEST_NO_SKIP=1``) turns into a failure.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
)

needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason="needs chromium and chromedriver"
    ),
]
"""``pytestmark`` of a module that drives the browser."""

T = TypeVar("T")


def start_chromium(*flags: str, script_timeout: float | None = None) -> Any:
    """A headless Chromium driven through chromedriver; ``flags`` are added to :data:`FLAGS`. Quit it when done."""
    from selenium import webdriver  # noqa: PLC0415 - only the browser tests need selenium
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *flags):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    if script_timeout is not None:
        driver.set_script_timeout(script_timeout)
    return driver


def wait_until(driver: Any, condition: Callable[[Any], T], timeout: float = 10) -> T:
    """``condition(driver)`` once it is truthy; a page that went away meanwhile counts as not yet."""
    from selenium.common.exceptions import (  # noqa: PLC0415
        NoSuchElementException,
        StaleElementReferenceException,
        TimeoutException,
    )

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition(driver)
            if value:
                return value
        except (NoSuchElementException, StaleElementReferenceException):
            pass
        if time.monotonic() > deadline:
            raise TimeoutException(
                f"timed out after {timeout}s waiting for {getattr(condition, '__name__', condition)}"
            )
        time.sleep(0.05)
