"""System checks: each id fires on the misconfiguration it names; a valid ANTOM gives none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

from antom_django.checks import CHECK_IDS, check_settings
from antom_django.client.keys import generate_private_key, private_der_b64, public_der_b64
from tests.client.test_keys import assert_no_material
from tests.settings import ANTOM as BASE
from tests.settings import VECTORS

PRODUCTION_ID = "5YEXAMPLE0000001"
SMALL = generate_private_key(1024)
EC_PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode()
)


def ids(messages: list[Any]) -> list[str]:
    return sorted(m.id for m in messages)


def run(antom: Any, **extra: Any) -> list[Any]:
    with override_settings(ANTOM=antom, **extra):
        return check_settings()


def without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in BASE.items() if k not in names}


# check id → (label, ANTOM value or a builder taking tmp_path, extra settings, every id expected)
Case = tuple[str, Any, dict[str, Any], list[str]]
CASES: dict[str, list[Case]] = {
    "antom_django.E001": [
        ("string", "CLIENT_ID=abc", {}, ["antom_django.E001"]),
        ("list", [("CLIENT_ID", "x")], {}, ["antom_django.E001"]),
    ],
    "antom_django.E002": [
        ("typo", {**BASE, "CLEINT_ID": "x"}, {}, ["antom_django.E002"]),
        ("lower-case", {**BASE, "notify_url": "x"}, {}, ["antom_django.E002"]),
    ],
    "antom_django.E003": [
        ("missing", without("CLIENT_ID"), {}, ["antom_django.E003"]),
        ("empty", {**BASE, "CLIENT_ID": ""}, {}, ["antom_django.E003"]),
        ("not-a-string", {**BASE, "CLIENT_ID": 1234}, {}, ["antom_django.E003"]),
    ],
    "antom_django.E004": [
        ("missing", without("PRIVATE_KEY"), {}, ["antom_django.E004"]),
        ("garbage", {**BASE, "PRIVATE_KEY": "not-a-key!"}, {}, ["antom_django.E004"]),
        ("public-as-private", {**BASE, "PRIVATE_KEY": VECTORS["merchant_public_key"]}, {}, ["antom_django.E004"]),
        ("ec-key", {**BASE, "PRIVATE_KEY": EC_PEM}, {}, ["antom_django.E004"]),
        (
            "missing-file",
            lambda tmp: {**without("PRIVATE_KEY"), "PRIVATE_KEY_FILE": str(tmp / "nope.pem")},
            {},
            ["antom_django.E004"],
        ),
        (
            "inline-and-file",
            lambda tmp: {**BASE, "PRIVATE_KEY_FILE": str(tmp / "k.pem")},
            {},
            ["antom_django.E004"],
        ),
    ],
    "antom_django.E005": [
        ("missing", without("ANTOM_PUBLIC_KEY"), {}, ["antom_django.E005"]),
        ("private-as-public", {**BASE, "ANTOM_PUBLIC_KEY": VECTORS["antom_private_key"]}, {}, ["antom_django.E005"]),
        ("truncated", {**BASE, "ANTOM_PUBLIC_KEY": VECTORS["antom_public_key"][:100]}, {}, ["antom_django.E005"]),
        (
            "missing-file",
            lambda tmp: {**without("ANTOM_PUBLIC_KEY"), "ANTOM_PUBLIC_KEY_FILE": str(tmp / "antom.pem")},
            {},
            ["antom_django.E005"],
        ),
    ],
    "antom_django.E006": [
        ("production-env-sandbox-id", {**BASE, "ENVIRONMENT": "production"}, {}, ["antom_django.E006"]),
        (
            "sandbox-env-production-id",
            {**BASE, "ENVIRONMENT": "sandbox", "CLIENT_ID": PRODUCTION_ID},
            {},
            ["antom_django.E006"],
        ),
    ],
    "antom_django.E007": [
        ("not-a-url", {**BASE, "GATEWAY_URL": "open-sea-global.alipay.com"}, {}, ["antom_django.E007"]),
        ("not-a-string", {**BASE, "GATEWAY_URL": None}, {}, ["antom_django.E007"]),
        ("plain-http-remote", {**BASE, "GATEWAY_URL": "http://open-sea-global.alipay.com"}, {}, ["antom_django.E007"]),
    ],
    "antom_django.E008": [
        (
            "production-id-local-gateway",
            {**BASE, "CLIENT_ID": PRODUCTION_ID, "GATEWAY_URL": "http://127.0.0.1:8000"},
            {},
            ["antom_django.E008"],
        ),
        (
            "production-env-lookalike-host",
            {**BASE, "CLIENT_ID": PRODUCTION_ID, "GATEWAY_URL": "https://alipay.com.evil.example"},
            {},
            ["antom_django.E008"],
        ),
    ],
    "antom_django.E009": [
        ("http-notify", {**BASE, "NOTIFY_URL": "http://shop.example.com/antom/notify/"}, {}, ["antom_django.E009"]),
    ],
    "antom_django.E010": [
        ("zero-timeout", {**BASE, "CONNECT_TIMEOUT": 0}, {}, ["antom_django.E010"]),
        ("string-timeout", {**BASE, "READ_TIMEOUT": "15"}, {}, ["antom_django.E010"]),
        ("bool-bytes", {**BASE, "MAX_RESPONSE_BYTES": True}, {}, ["antom_django.E010"]),
        ("negative-retries", {**BASE, "MAX_RETRIES": -1}, {}, ["antom_django.E010"]),
        ("float-retries", {**BASE, "MAX_RETRIES": 1.5}, {}, ["antom_django.E010"]),
        ("environment", {**BASE, "ENVIRONMENT": "staging"}, {}, ["antom_django.E010"]),
        ("capture-mode", {**BASE, "CAPTURE_MODE": "manual"}, {}, ["antom_django.E010"]),
        ("auto-capture", {**BASE, "AUTO_CAPTURE": "yes"}, {}, ["antom_django.E010"]),
        ("is-authorization", {**BASE, "IS_AUTHORIZATION": "true"}, {}, ["antom_django.E010"]),
        ("notify-apply", {**BASE, "NOTIFY_APPLY": "worker"}, {}, ["antom_django.E010"]),
        ("sweep-after", {**BASE, "NOTIFY_SWEEP_AFTER": 0}, {}, ["antom_django.E010"]),
    ],
    "antom_django.E011": [
        ("relative-redirect", {**BASE, "REDIRECT_URL": "/checkout/result/"}, {}, ["antom_django.E011"]),
        ("relative-notify", {**BASE, "NOTIFY_URL": "antom/notify/"}, {"DEBUG": True}, ["antom_django.E011"]),
    ],
    "antom_django.W001": [
        ("own-public-key", {**BASE, "ANTOM_PUBLIC_KEY": VECTORS["merchant_public_key"]}, {}, ["antom_django.W001"]),
    ],
    "antom_django.W002": [
        ("short-private", {**BASE, "PRIVATE_KEY": private_der_b64(SMALL)}, {}, ["antom_django.W002"]),
        ("short-public", {**BASE, "ANTOM_PUBLIC_KEY": public_der_b64(SMALL)}, {}, ["antom_django.W002"]),
    ],
    "antom_django.W003": [
        ("no-notify", without("NOTIFY_URL"), {}, ["antom_django.W003"]),
        ("no-redirect", {**BASE, "REDIRECT_URL": ""}, {}, ["antom_django.W003"]),
    ],
    # Checks added with the HTTP API (issue 5): adapter and DRF class settings.
    "antom_django.E020": [
        ("cannot-import", {**BASE, "ADAPTER": "shop.nope.Adapter"}, {}, ["antom_django.E020"]),
        ("not-an-adapter", {**BASE, "ADAPTER": "antom_django.conf.AntomSettings"}, {}, ["antom_django.E020"]),
    ],
    "antom_django.E021": [
        ("not-a-dict", {**BASE, "THROTTLE_CLASSES": ["x"]}, {}, ["antom_django.E021"]),
        ("unknown-endpoint", {**BASE, "PERMISSION_CLASSES": {"refunds": []}}, {}, ["antom_django.E021"]),
        ("cannot-import", {**BASE, "PERMISSION_CLASSES": {"sessions": ["nope.Perm"]}}, {}, ["antom_django.E021"]),
    ],
    "antom_django.W020": [
        ("base-adapter", {**BASE, "ADAPTER": "antom_django.adapter.AntomAdapter"}, {}, ["antom_django.W020"]),
    ],
}
# Cases for checks that do not exist in this checkout are not generated (they arrive with their issue).
PARAMS = [
    pytest.param(check_id, antom, extra, expected, id=f"{check_id.rsplit('.', 1)[1]}-{label}")
    for check_id, cases in CASES.items()
    if check_id in CHECK_IDS
    for label, antom, extra, expected in cases
]


def test_every_check_id_has_a_case() -> None:
    missing = sorted(set(CHECK_IDS) - set(CASES))
    assert not missing, f"add a misconfiguration for {missing} to CASES in tests/test_checks.py"


def test_valid_settings_give_no_messages() -> None:
    assert check_settings() == []
    assert [m for m in run_checks() if m.id and m.id.startswith("antom_django.")] == []


def test_sandbox_client_id_may_use_a_local_simulator() -> None:
    assert run({**BASE, "GATEWAY_URL": "http://127.0.0.1:8765"}) == []
    assert run({**BASE, "GATEWAY_URL": "http://localhost:8765", "ENVIRONMENT": "sandbox"}) == []


def test_production_settings_are_valid() -> None:
    assert run({**BASE, "CLIENT_ID": PRODUCTION_ID, "GATEWAY_URL": "https://open-na-global.alipay.com"}) == []
    assert run({**BASE, "CLIENT_ID": PRODUCTION_ID, "ENVIRONMENT": "production"}) == []


def test_both_notify_apply_modes_are_valid() -> None:
    for mode in ("inline", "queue"):
        assert run({**BASE, "NOTIFY_APPLY": mode, "NOTIFY_SWEEP_AFTER": 30}) == []


def test_http_notify_url_is_allowed_under_debug() -> None:
    assert run({**BASE, "NOTIFY_URL": "http://localhost:8000/antom/notify/"}, DEBUG=True) == []


@pytest.mark.parametrize(("check_id", "antom", "extra", "expected"), PARAMS)
def test_check_fires(
    tmp_path: Path,
    check_id: str,
    antom: Any,
    extra: dict[str, Any],
    expected: list[str],
) -> None:
    if callable(antom):
        (tmp_path / "k.pem").write_text(VECTORS["merchant_private_key"])
        antom = antom(tmp_path)
    messages = run(antom, **extra)
    assert ids(messages) == sorted(expected)
    fired = [m for m in messages if m.id == check_id]
    assert fired
    for message in fired:
        assert message.msg.strip()
        assert ("E" in check_id.rsplit(".", 1)[1]) == message.is_serious()
        assert message.id in CHECK_IDS
        text = f"{message.msg} {message.hint or ''}"
        for key in ("merchant_private_key", "antom_private_key", "antom_public_key", "merchant_public_key"):
            assert_no_material(text, VECTORS[key])
        assert_no_material(text, private_der_b64(SMALL))


def test_missing_setting_is_e003() -> None:
    with override_settings():
        del settings.ANTOM
        messages = check_settings()
    assert ids(messages) == ["antom_django.E003"]
    assert "is not set" in messages[0].msg


def test_typo_gets_a_did_you_mean_hint() -> None:
    (message,) = run({**BASE, "CLEINT_ID": "x"})
    assert message.id == "antom_django.E002"
    assert "'CLEINT_ID'" in message.msg
    assert message.hint == "Did you mean 'CLIENT_ID'?"


def test_unrelated_name_lists_known_settings() -> None:
    (message,) = run({**BASE, "COLOUR": "blue"})
    assert message.id == "antom_django.E002"
    assert "Known settings:" in (message.hint or "")
    assert "CLIENT_ID" in (message.hint or "")


def test_key_errors_are_specific() -> None:
    (message,) = run({**BASE, "PRIVATE_KEY": VECTORS["merchant_public_key"]})
    assert "is a public key; the private key is needed here" in message.msg
    (message,) = run({**BASE, "ANTOM_PUBLIC_KEY": VECTORS["antom_private_key"]})
    assert "is a private key; the public key is needed here" in message.msg
    (message,) = run({**without("ANTOM_PUBLIC_KEY"), "ANTOM_PUBLIC_KEY_FILE": "/nonexistent/antom.pem"})
    assert "'/nonexistent/antom.pem' cannot be read" in message.msg


def test_key_files_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "merchant.txt").write_text(VECTORS["merchant_private_key"] + "\n")
    (tmp_path / "antom.txt").write_text(VECTORS["antom_public_key"])
    antom = {
        **without("PRIVATE_KEY", "ANTOM_PUBLIC_KEY"),
        "PRIVATE_KEY_FILE": str(tmp_path / "merchant.txt"),
        "ANTOM_PUBLIC_KEY_FILE": tmp_path / "antom.txt",
    }
    assert run(antom) == []


def test_checks_are_registered_with_django() -> None:
    with override_settings(ANTOM={**BASE, "CLEINT_ID": "x"}):
        found = [m.id for m in run_checks() if m.id and m.id.startswith("antom_django.")]
    assert found == ["antom_django.E002"]


def test_every_id_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    undocumented = [check_id for check_id in CHECK_IDS if check_id not in readme]
    assert not undocumented, f"README's checks table lacks {undocumented}"
