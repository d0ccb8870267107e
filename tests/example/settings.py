"""The suite's settings plus the example shop (``example_project/shop``) and its URLs.

The shop's signal receivers act on every payment, so they must not run in the rest of the suite (they would
add queries to tests that count them): the example's tests run in a pytest process of their own with these
settings (``tests/example/test_own_process.py`` starts it), on the same database server as the suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.settings import *  # noqa: F403
from tests.settings import ANTOM, BASE_DIR, DATABASES, INSTALLED_APPS

EXAMPLE_PROJECT = BASE_DIR.parent / "example_project"
if str(EXAMPLE_PROJECT) not in sys.path:
    sys.path.insert(0, str(EXAMPLE_PROJECT))

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken", "shop"]
ROOT_URLCONF = "shopsite.urls"
ANTOM = {**ANTOM, "ADAPTER": "shop.payments.ShopAdapter", "REDIRECT_URL": "http://testserver/checkout/result/"}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users
SHOP_SDK_URL = "http://sdk.invalid/ams-checkout.js"
SHOP_SDK_ENVIRONMENT = "sandbox"

# Its own test database beside the suite's (the suite's run is still open while this one runs).
_default = DATABASES["default"]
if _default["ENGINE"] == "django.db.backends.sqlite3":
    _name = Path(_default["NAME"])
    _default["TEST"] = {"NAME": str(_name.with_name(f"test_example_{_name.name}"))}
else:
    _default["TEST"] = {"NAME": f"test_{_default['NAME']}_example"}
