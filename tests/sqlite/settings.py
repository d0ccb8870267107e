"""Settings of the processes in the SQLite real-flow test: the test project with ``startproject``'s database.

``DATABASES`` is exactly what ``startproject`` writes (an engine and a file, no ``OPTIONS``); the file and
the simulator the shop talks to come from the environment the test sets.
"""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403 - the test project, with two settings replaced

DEBUG = True  # as startproject writes it (and runserver serves plain-http notifications then)

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["ANTOM_FLOW_DB"],
    }
}

ANTOM = {
    **ANTOM,  # noqa: F405
    **json.loads(os.environ["ANTOM_FLOW_ANTOM"]),
    "ADAPTER": "tests.sqlite.flow.FlowAdapter",
}
