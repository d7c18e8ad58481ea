"""Settings: where the server says it is (`public_url`, `callback_url`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from volundr.config import Settings, load_settings


def test_unconfigured_urls_follow_the_served_port() -> None:
    served = Settings().served_at("127.0.0.1", 18080)
    assert (served.public_url, served.callback_url) == (
        "http://127.0.0.1:18080", "http://127.0.0.1:18080",
    )  # fmt: skip
    wildcard = Settings().served_at("0.0.0.0", 9000)
    assert wildcard.public_url == wildcard.callback_url == "http://127.0.0.1:9000"
    assert Settings().served_at("::1", 9000).public_url == "http://[::1]:9000"


def test_configured_urls_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "volundr.yaml"
    config.write_text("public_url: https://volundr.example.com\n")
    from_file = load_settings(config).served_at("127.0.0.1", 18080)
    assert from_file.public_url == "https://volundr.example.com"
    assert from_file.callback_url == "http://127.0.0.1:18080", "hosts call back locally"
    monkeypatch.setenv("VOLUNDR_PUBLIC_URL", "http://127.0.0.1:8080")
    monkeypatch.setenv("VOLUNDR_CALLBACK_URL", "http://127.0.0.1:7000")
    from_env = load_settings().served_at("127.0.0.1", 18080)
    assert (from_env.public_url, from_env.callback_url) == (
        "http://127.0.0.1:8080", "http://127.0.0.1:7000",
    )  # fmt: skip


def test_an_identity_mode_that_is_not_available_is_refused_not_served_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOLUNDR_AUTH__MODE", "tokens")
    with pytest.raises(ValueError, match=r"auth\.mode") as raised:
        load_settings()
    assert "'none' or 'headers'" in str(raised.value)
