"""The lazy ``antom_settings`` object: defaults, caching, reload on change, the shared client."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from antom_django import conf
from antom_django.client import AntomClient, ConfigurationError, KeyFormatError
from antom_django.client.api import DEFAULT_GATEWAY_URL
from antom_django.conf import DEFAULTS, antom_settings
from tests.settings import ANTOM as BASE
from tests.settings import VECTORS

MINIMAL = {
    "CLIENT_ID": VECTORS["client_id"],
    "PRIVATE_KEY": VECTORS["merchant_private_key"],
    "ANTOM_PUBLIC_KEY": VECTORS["antom_public_key"],
}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count how often conf parses each key."""
    calls = {"private": 0, "public": 0}
    real_private, real_public = conf.load_private_key, conf.load_public_key

    def private(*args: Any, **kwargs: Any) -> Any:
        calls["private"] += 1
        return real_private(*args, **kwargs)

    def public(*args: Any, **kwargs: Any) -> Any:
        calls["public"] += 1
        return real_public(*args, **kwargs)

    monkeypatch.setattr(conf, "load_private_key", private)
    monkeypatch.setattr(conf, "load_public_key", public)
    antom_settings.reload()
    return calls


@override_settings(ANTOM=MINIMAL)
def test_defaults_fill_what_is_not_set() -> None:
    for name, default in DEFAULTS.items():
        if name not in MINIMAL:
            assert getattr(antom_settings, name) == default
    assert antom_settings.GATEWAY_URL == DEFAULT_GATEWAY_URL
    assert antom_settings.CONNECT_TIMEOUT == 5.0
    assert antom_settings.MAX_RETRIES == 2
    assert antom_settings.IS_AUTHORIZATION is True


def test_user_values_win() -> None:
    assert antom_settings.MAX_RETRIES == BASE["MAX_RETRIES"] == 0
    assert BASE["NOTIFY_URL"] == antom_settings.NOTIFY_URL


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="ANTOM has no setting 'CLEINT_ID'"):
        antom_settings.CLEINT_ID  # noqa: B018


@pytest.mark.parametrize("value", [None, "not a dict", ["CLIENT_ID"]])
def test_missing_or_wrong_type_setting_reads_as_defaults(value: Any) -> None:
    with override_settings(ANTOM=value):
        assert antom_settings.user_settings == {}
        assert antom_settings.CLIENT_ID is None
        with pytest.raises(ConfigurationError, match=r"ANTOM\['CLIENT_ID'\] is not set"):
            antom_settings.client_kwargs()


def test_values_are_read_lazily_and_reloaded_on_override() -> None:
    assert antom_settings.READ_TIMEOUT == 15.0
    with override_settings(ANTOM={**BASE, "READ_TIMEOUT": 3.5}):
        assert antom_settings.READ_TIMEOUT == 3.5
    assert antom_settings.READ_TIMEOUT == 15.0


def test_keys_are_parsed_once(counted: dict[str, int]) -> None:
    first = antom_settings.merchant_private_key
    for _ in range(5):
        assert antom_settings.merchant_private_key is first
        antom_settings.antom_public_key  # noqa: B018
    antom_settings.client_kwargs()
    antom_settings.get_client()
    assert counted == {"private": 1, "public": 1}


def test_keys_are_reparsed_after_override(counted: dict[str, int]) -> None:
    before = antom_settings.merchant_private_key
    with override_settings(ANTOM={**BASE, "PRIVATE_KEY": VECTORS["antom_private_key"]}):
        during = antom_settings.merchant_private_key
        assert during is antom_settings.merchant_private_key
    after = antom_settings.merchant_private_key
    assert counted["private"] == 3
    assert during.public_key().public_numbers() != before.public_key().public_numbers()
    assert after.public_key().public_numbers() == before.public_key().public_numbers()


def test_bad_key_is_a_key_format_error_naming_the_setting() -> None:
    with override_settings(ANTOM={**BASE, "PRIVATE_KEY": "not-a-key!"}), pytest.raises(KeyFormatError) as info:
        antom_settings.merchant_private_key  # noqa: B018
    assert str(info.value).startswith("PRIVATE_KEY ")


def test_key_files(tmp_path: Path) -> None:
    (tmp_path / "merchant.pem").write_text(VECTORS["merchant_private_key"])
    (tmp_path / "antom.pem").write_text(VECTORS["antom_public_key"])
    files = {
        **{k: v for k, v in BASE.items() if k not in ("PRIVATE_KEY", "ANTOM_PUBLIC_KEY")},
        "PRIVATE_KEY_FILE": tmp_path / "merchant.pem",
        "ANTOM_PUBLIC_KEY_FILE": str(tmp_path / "antom.pem"),
    }
    with override_settings(ANTOM=files):
        assert antom_settings.merchant_private_key.key_size == 2048
        assert antom_settings.antom_public_key.key_size == 2048


def test_key_file_errors(tmp_path: Path) -> None:
    both = {**BASE, "PRIVATE_KEY_FILE": str(tmp_path / "k.pem")}
    with override_settings(ANTOM=both), pytest.raises(ConfigurationError, match=r"\['PRIVATE_KEY_FILE'\], not both"):
        antom_settings.merchant_private_key  # noqa: B018
    no_public = {k: v for k, v in BASE.items() if k != "ANTOM_PUBLIC_KEY"}
    missing = {**no_public, "ANTOM_PUBLIC_KEY_FILE": str(tmp_path / "missing.pem")}
    with override_settings(ANTOM=missing), pytest.raises(KeyFormatError, match="missing.pem' cannot be read: No such"):
        antom_settings.antom_public_key  # noqa: B018
    with override_settings(ANTOM=no_public), pytest.raises(ConfigurationError, match="is not set"):
        antom_settings.antom_public_key  # noqa: B018


@pytest.mark.parametrize(
    ("client_id", "environment", "sandbox"),
    [
        ("SANDBOX_5Y01", None, True),
        ("5Y01", None, False),
        ("SANDBOX_5Y01", "sandbox", True),
        ("5Y01", "production", False),
        ("5Y01", "sandbox", True),
        ("SANDBOX_5Y01", "bogus", True),
    ],
)
def test_is_sandbox(client_id: str, environment: str | None, sandbox: bool) -> None:
    with override_settings(ANTOM={**BASE, "CLIENT_ID": client_id, "ENVIRONMENT": environment}):
        assert antom_settings.is_sandbox is sandbox


def test_client_kwargs() -> None:
    with override_settings(ANTOM={**BASE, "KEY_VERSION": 2, "CONNECT_TIMEOUT": 1.5, "MAX_RESPONSE_BYTES": 4096}):
        kwargs = antom_settings.client_kwargs()
        assert kwargs["client_id"] == VECTORS["client_id"]
        assert kwargs["private_key"] is antom_settings.merchant_private_key
        assert kwargs["antom_public_key"] is antom_settings.antom_public_key
        assert kwargs["key_version"] == "2"
        assert kwargs["sandbox"] is True
        assert kwargs["connect_timeout"] == 1.5
        assert kwargs["read_timeout"] == 15.0
        assert kwargs["max_retries"] == 0
        assert kwargs["max_response_bytes"] == 4096
        assert kwargs["gateway_url"] == BASE["GATEWAY_URL"]
        # Every key is an AntomClient argument.
        AntomClient(**kwargs)


def test_get_client_is_shared_and_pooled() -> None:
    client = antom_settings.get_client()
    assert antom_settings.get_client() is client
    assert client.client_id == VECTORS["client_id"]
    assert client.sandbox is True
    assert client.session.get_adapter("https://open-sea-global.alipay.com") is client.session.get_adapter(
        "https://open-na-global.alipay.com"
    )


def test_get_client_is_rebuilt_and_old_one_closed_on_override(monkeypatch: pytest.MonkeyPatch) -> None:
    old = antom_settings.get_client()
    closed: list[AntomClient] = []
    monkeypatch.setattr(AntomClient, "close", lambda self: closed.append(self))
    with override_settings(ANTOM={**BASE, "READ_TIMEOUT": 2.0}):
        assert closed == [old]
        new = antom_settings.get_client()
        assert new is not old
        assert new.timeout == (5.0, 2.0)
    assert closed == [old, new]


def test_first_get_client_parses_keys_without_deadlock() -> None:
    # Regression: the client was built under the cache lock, and parsing the keys took it again.
    antom_settings.reload()
    built: list[AntomClient] = []
    worker = threading.Thread(target=lambda: built.append(antom_settings.get_client()), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "get_client() deadlocked"
    assert built[0] is antom_settings.get_client()


def test_get_client_from_threads_builds_one_client() -> None:
    antom_settings.reload()
    seen: list[AntomClient] = []
    barrier = threading.Barrier(6)

    def grab() -> None:
        barrier.wait()
        seen.append(antom_settings.get_client())

    threads = [threading.Thread(target=grab, daemon=True) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "get_client() deadlocked"
    assert len(seen) == 6
    assert len({id(c) for c in seen}) == 1


def test_new_client_with_overrides() -> None:
    client = antom_settings.new_client(read_timeout=1.0, max_retries=3)
    assert client.timeout == (5.0, 1.0)
    assert client.max_retries == 3
    assert client is not antom_settings.get_client()


def test_settings_object_holds_no_key_text_in_repr() -> None:
    antom_settings.get_client()
    text = repr(antom_settings.get_client()) + repr(antom_settings.__dict__.get("_cache", {}).get("_client"))
    assert VECTORS["merchant_private_key"][30:70] not in text
