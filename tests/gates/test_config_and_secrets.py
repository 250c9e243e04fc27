"""The gates settings and the secret detection that does not depend on a repository."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.errors import RepoConfigError
from gates.config import FilterMode, GateLevel, Severity, load_defaults, parse_gates_config
from gates.redact import redact, redact_text
from gates.secrets import scan_file

# Built at run time so no scanner flags this test file itself.
AWS = "AKIA" + "Z3MSJV4WWQK7XB2P"
GITHUB = "ghp_" + "x9Y8" * 9
FINE_GRAINED = "github_pat_" + "A1b2C3d4E5" * 3
SLACK = "xoxb-" + "1234567890-abcdefghijkl"
STRIPE = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2"
GOOGLE = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
PRIVATE = "-----BEGIN RSA " + "PRIVATE KEY-----"


def test_defaults_come_from_the_shipped_file() -> None:
    config = load_defaults()

    assert config.lint.fail_on is Severity.LOW
    assert config.security.filter_mode is FilterMode.ADDED
    assert config.for_level(GateLevel.L5) is config.security
    assert config.for_level(GateLevel.L3) is config.integration
    shipped = yaml.safe_load((Path("config") / "gates.yml").read_text())["gates"]
    assert (
        config.model_dump(mode="json")["security"]["bandit_skips"]
        == shipped["security"]["bandit_skips"]
    )


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"lint": {"fail_on": "severe"}}, "gates.lint.fail_on"),
        ({"security": {"timeout_seconds": 0}}, "gates.security.timeout_seconds"),
        ({"lint": {"filtermode": "added"}}, "gates.lint.filtermode"),
        ({"typo": True}, "gates.typo"),
    ],
    ids=["bad-severity", "zero-timeout", "misspelt-key", "unknown-section"],
)
def test_bad_settings_name_the_key(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(RepoConfigError) as caught:
        parse_gates_config(overrides)

    assert caught.value.key == key


def test_overrides_merge_key_by_key() -> None:
    config = load_defaults().with_overrides({"security": {"required": False}})

    assert config.security.required is False
    assert config.security.fail_on is Severity.MEDIUM


def test_severities_order_by_seriousness_not_alphabet() -> None:
    assert sorted(Severity) == [
        Severity.INFO,
        Severity.LOW,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.CRITICAL,
    ]
    assert Severity.HIGH > Severity.LOW
    assert max(Severity.LOW, Severity.CRITICAL) is Severity.CRITICAL


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (AWS, "secret/aws-access-key"),
        (GITHUB, "secret/github-token"),
        (FINE_GRAINED, "secret/github-fine-grained-token"),
        (SLACK, "secret/slack-token"),
        (STRIPE, "secret/stripe-live-key"),
        (GOOGLE, "secret/google-api-key"),
        (PRIVATE, "secret/private-key"),
    ],
    ids=["aws", "github", "github-fine-grained", "slack", "stripe", "google", "private-key"],
)
def test_high_confidence_token_formats(value: str, rule: str) -> None:
    hits = scan_file("x.txt", ["harmless\n", f"value = {value}\n"])

    own = [hit.finding() for hit in hits if hit.tool == "secrets"]
    assert [(f.start_line, f.rule, f.severity) for f in own] == [(2, rule, Severity.CRITICAL)]
    assert value not in own[0].message or value == PRIVATE


def test_allowlist_pragma_silences_a_line() -> None:
    hits = scan_file("x.py", [f'KEY = "{AWS}"  # pragma: allowlist secret\n'])

    assert hits == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [(AWS, "AKIA…"), ("hunter2hunter2", "hun…"), ("abc", "…")],
    ids=["long", "medium", "short"],
)
def test_redaction_keeps_four_characters_at_most(value: str, shown: str) -> None:
    assert redact(value) == shown


def test_redact_text_hides_known_formats_and_given_values() -> None:
    text = f"key {AWS} token {GITHUB} pass s3cr3t-value"

    hidden = redact_text(text, ["s3cr3t-value"])

    assert AWS not in hidden and GITHUB not in hidden and "s3cr3t-value" not in hidden
    assert "AKIA…" in hidden and "ghp_…" in hidden
