"""Logging: every line carries the delivery id; tokens and configured secrets are masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from bot.log import MASK, Redactor, bound, configure_logging, get_logger, info_lines
from bot.settings import Settings

SAMPLES = [
    ("classic-pat", "token ghp_16C7e42F292c6912E7710c838347Ae178B4a", "ghp_16C7e42F"),
    ("installation", "using ghs_abcdefghijklmnopqrstuvwxyz0123456789", "ghs_abc"),
    ("oauth", "gho_16C7e42F292c6912E7710c838347Ae178B4a leaked", "gho_16C7"),
    ("fine-grained", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_pat_11"),
    ("legacy-installation", "v1.0123456789abcdef0123456789abcdef01234567", "v1.0123"),
    ("bearer", "Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
    ("token-header", "Authorization: token 0123456789abcdef0123456789", "0123456789abcdef"),
    ("git-url", "https://x-access-token:s3cr3tvalue@github.com/o/r.git", "s3cr3tvalue"),
    ("jwt", "jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2lnbmF0dXJl end", "eyJhbGci"),
    ("pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "MIIE"),
]


@pytest.mark.parametrize(
    ("text", "secret"), [sample[1:] for sample in SAMPLES], ids=[s[0] for s in SAMPLES]
)
def test_token_shapes_are_masked(text: str, secret: str) -> None:
    masked = Redactor().text(text)
    assert secret not in masked
    assert MASK in masked


@pytest.mark.parametrize(
    "text",
    ["token mode", "version v1.2.3", "delivery 72d3162e-cc78-11e3-81ab-4c9367dc0958", "eyes"],
    ids=["token-word", "version", "delivery-id", "ey-word"],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert Redactor().text(text) == text


def test_configured_secrets_are_masked_everywhere_in_the_event() -> None:
    redact = Redactor(["hook-secret-1", "abc"])  # too short to mask safely: ignored
    event = redact(None, "info", {"event": "x hook-secret-1", "nested": {"k": ["hook-secret-1"]}})
    assert event == {"event": f"x {MASK}", "nested": {"k": [MASK]}}
    assert redact.text("abc") == "abc"


def test_a_token_among_plain_values_is_masked_and_the_rest_kept() -> None:
    token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
    event = Redactor(["hook-secret-1"])(
        None, "info", {"event": "sent", "delivery_id": "d-1", "n": 3, "note": f"with {token}"}
    )
    assert event == {"event": "sent", "delivery_id": "d-1", "n": 3, "note": f"with {MASK}"}


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out
    structlog.reset_defaults()
    logging.getLogger().handlers = []


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_lines_carry_the_delivery_id_and_mask_secrets(stream: io.StringIO) -> None:
    settings = Settings.from_env(
        {"TECHLEAD_WEBHOOK_SECRET": "hook-secret-1", "TECHLEAD_GITHUB_TOKEN": "ghp_tok"}
    )
    configure_logging(settings, stream)
    with bound(delivery_id="d-1", trace_id="t-1"):
        get_logger().info("sent", header="sha256 with hook-secret-1")
        try:
            raise RuntimeError("auth ghp_tok failed")
        except RuntimeError:
            get_logger().exception("failed")
    get_logger().info("startup")
    logging.getLogger("uvicorn.error").warning("ghp_tok in a library message")
    sent, failed, startup, library = lines(stream)
    assert (sent["delivery_id"], sent["trace_id"], sent["level"]) == ("d-1", "t-1", "info")
    assert sent["header"] == f"sha256 with {MASK}"
    assert failed["delivery_id"] == "d-1"
    assert "ghp_tok" not in json.dumps(failed) and "RuntimeError" in str(failed["exception"])
    assert startup["delivery_id"] is None
    assert "ghp_tok" not in str(library["event"])


def test_console_format_is_human_readable(stream: io.StringIO) -> None:
    settings = Settings.from_env({"TECHLEAD_LOG_FORMAT": "console"})
    configure_logging(settings, stream)
    with bound(delivery_id="d-2"):
        get_logger().info("hello", token="ghp_abc")
        try:
            raise ValueError("boom")
        except ValueError:
            get_logger().exception("failed")
    text = stream.getvalue()
    assert "hello" in text and "delivery_id=d-2" in text
    assert "ghp_abc" not in text
    assert "ValueError: boom" in text


def test_lines_logged_in_bulk_go_through_the_same_chain(stream: io.StringIO) -> None:
    settings = Settings.from_env({"TECHLEAD_WEBHOOK_SECRET": "hook-secret-1"})
    configure_logging(settings, stream)
    info_lines(
        [
            ("delivery_accepted", {"delivery_id": "d-1", "note": "signed with hook-secret-1"}),
            ("delivery_duplicate", {"delivery_id": "d-2", "action": None}),
        ]
    )
    first, second = lines(stream)
    assert (first["event"], first["delivery_id"], first["level"]) == (
        "delivery_accepted",
        "d-1",
        "info",
    )
    assert first["note"] == f"signed with {MASK}" and "timestamp" in first
    assert (second["event"], second["delivery_id"], second["action"]) == (
        "delivery_duplicate",
        "d-2",
        None,
    )


def test_lines_logged_in_bulk_reach_captured_logs() -> None:
    with capture_logs() as captured:
        info_lines([("delivery_accepted", {"delivery_id": "d-1"})])
    assert [(line["event"], line["delivery_id"]) for line in captured] == [
        ("delivery_accepted", "d-1")
    ]
