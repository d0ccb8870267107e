"""Settings of the worker processes the background tests start: the test project, the test's ``ANTOM`` and a
signal recorder.

``ANTOM_TEST_ANTOM`` (JSON) is the ``ANTOM`` dict of the test that started the process (the simulator's URL and
keys, short intervals); ``ANTOM_TEST_DATABASE_URL`` its database (read by :mod:`tests.settings`).
"""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403 - the test project, with two settings extended

INSTALLED_APPS = [*INSTALLED_APPS, "tests.background.recorder.RecorderConfig"]  # noqa: F405

ANTOM = {**ANTOM, **json.loads(os.environ.get("ANTOM_TEST_ANTOM", "{}"))}  # noqa: F405
