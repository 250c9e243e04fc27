"""Settings are read from an injected environment and name the variable when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.errors import SettingsError
from bot.settings import AuthMode, LogFormat, Settings


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_defaults_need_nothing() -> None:
    settings = Settings.from_env({})
    assert settings.auth_mode is AuthMode.NONE
    assert settings.api_url == "https://api.github.com"
    assert settings.data_dir == Path(".techlead")
    assert settings.log_format is LogFormat.JSON
    assert settings.webhook_secrets == ()


def test_token_mode_and_secret_rotation() -> None:
    settings = Settings.from_env(
        {"TECHLEAD_GITHUB_TOKEN": "ghp_x", "TECHLEAD_WEBHOOK_SECRET": "new, old ,"}
    )
    assert settings.auth_mode is AuthMode.TOKEN
    assert settings.webhook_secrets == ("new", "old")


def test_app_mode_from_key_file(tmp_path: Path, pem: str) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(pem)
    settings = Settings.from_env(
        {"TECHLEAD_APP_ID": "42", "TECHLEAD_PRIVATE_KEY_PATH": str(key_file)}
    )
    assert settings.auth_mode is AuthMode.APP
    assert settings.app_id == 42
    assert settings.private_key == pem.strip()


def test_escaped_newlines_in_inline_key(pem: str) -> None:
    settings = Settings.from_env(
        {"TECHLEAD_APP_ID": "7", "TECHLEAD_PRIVATE_KEY": pem.replace("\n", "\\n")}
    )
    assert settings.private_key == pem.strip()


def test_secrets_never_in_repr(pem: str) -> None:
    settings = Settings.from_env(
        {
            "TECHLEAD_APP_ID": "7",
            "TECHLEAD_PRIVATE_KEY": pem,
            "TECHLEAD_GITHUB_TOKEN": "ghp_supersecret",
            "TECHLEAD_WEBHOOK_SECRET": "hooksecret",
        }
    )
    text = repr(settings)
    for secret in ("ghp_supersecret", "hooksecret", "PRIVATE KEY"):
        assert secret not in text


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TECHLEAD_APP_ID": "abc"}, "TECHLEAD_APP_ID"),
        ({"TECHLEAD_APP_ID": "1"}, "TECHLEAD_PRIVATE_KEY"),
        ({"TECHLEAD_PRIVATE_KEY": "not a key"}, "TECHLEAD_PRIVATE_KEY"),
        ({"TECHLEAD_PRIVATE_KEY_PATH": "/nonexistent/key.pem"}, "TECHLEAD_PRIVATE_KEY_PATH"),
        ({"TECHLEAD_GITHUB_API_URL": "ftp://x"}, "TECHLEAD_GITHUB_API_URL"),
        ({"TECHLEAD_GITHUB_API_URL": "https://u:p@ghe.local"}, "TECHLEAD_GITHUB_API_URL"),
        ({"TECHLEAD_LOG_FORMAT": "xml"}, "TECHLEAD_LOG_FORMAT"),
        ({"TECHLEAD_WRITE_INTERVAL": "-1"}, "TECHLEAD_WRITE_INTERVAL"),
        ({"TECHLEAD_WRITE_INTERVAL": "soon"}, "TECHLEAD_WRITE_INTERVAL"),
        ({"TECHLEAD_BACKGROUND_PRIORITY": "realtime"}, "TECHLEAD_BACKGROUND_PRIORITY"),
    ],
    ids=[
        "app-id-not-number",
        "app-without-key",
        "key-not-pem",
        "key-path-missing",
        "api-url-scheme",
        "api-url-credentials",
        "log-format",
        "negative-interval",
        "interval-not-number",
        "background-priority",
    ],
)
def test_invalid_environment_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert info.value.variable == variable
    assert variable in str(info.value)


def test_requirements_name_what_is_missing() -> None:
    settings = Settings.from_env({})
    with pytest.raises(SettingsError, match="TECHLEAD_WEBHOOK_SECRET"):
        settings.require_webhook_secret()
    with pytest.raises(SettingsError, match="TECHLEAD_GITHUB_TOKEN"):
        settings.require_github()
