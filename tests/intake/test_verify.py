"""bot.intake.verify: every way a delivery is refused, and what a good one yields."""

from __future__ import annotations

import json

import pytest

from bot.errors import (
    MissingHeaderError,
    PayloadError,
    PayloadTooLargeError,
    SignatureError,
    UnsupportedMediaTypeError,
    WebhookError,
)
from bot.intake import (
    Rejection,
    check_declared_size,
    envelope,
    rejection,
    sign,
    verify,
)
from tests.intake.conftest import SECRET, signed_headers

BODY = json.dumps(
    {
        "action": "labeled",
        "installation": {"id": 42},
        "repository": {"full_name": "octo/repo"},
        "sender": {"login": "octocat", "type": "User"},
    }
).encode()
LIMIT = 1024


def good_headers() -> dict[str, str]:
    return signed_headers(BODY, "issues", "d-1")


def test_a_good_delivery_yields_its_routing_facts() -> None:
    delivery = verify(good_headers(), BODY, [SECRET], max_bytes=LIMIT)
    assert (delivery.delivery_id, delivery.event) == ("d-1", "issues")
    assert delivery.body == BODY
    assert delivery.envelope.action == "labeled"
    assert delivery.envelope.installation_id == 42
    assert delivery.envelope.repo == "octo/repo"
    assert delivery.envelope.sender_login == "octocat"


def test_header_names_are_case_insensitive() -> None:
    lowered = {name.lower(): value for name, value in good_headers().items()}
    assert verify(lowered, BODY, [SECRET], max_bytes=LIMIT).delivery_id == "d-1"


@pytest.mark.parametrize(
    "secrets", [("new", SECRET), (SECRET, "new")], ids=["old-second", "old-first"]
)
def test_any_configured_secret_verifies(secrets: tuple[str, ...]) -> None:
    assert verify(good_headers(), BODY, secrets, max_bytes=LIMIT).event == "issues"


def _without(name: str) -> dict[str, str]:
    headers = good_headers()
    del headers[name]
    return headers


def _with(name: str, value: str) -> dict[str, str]:
    return {**good_headers(), name: value}


def _sha1_only() -> dict[str, str]:
    headers = _without("X-Hub-Signature-256")
    headers["X-Hub-Signature"] = "sha1=" + "0" * 40
    return headers


REFUSALS = [
    ("tampered-body", good_headers(), BODY.replace(b"octocat", b"octodog"), SignatureError),
    ("wrong-secret", signed_headers(BODY, "issues", "d-1", "other"), BODY, SignatureError),
    ("sha1-only", _sha1_only(), BODY, SignatureError),
    ("signature-not-sha256", _with("X-Hub-Signature-256", "md5=abc"), BODY, SignatureError),
    ("signature-empty", _with("X-Hub-Signature-256", ""), BODY, SignatureError),
    ("no-event", _without("X-GitHub-Event"), BODY, MissingHeaderError),
    ("no-delivery", _without("X-GitHub-Delivery"), BODY, MissingHeaderError),
    ("no-signature", _without("X-Hub-Signature-256"), BODY, MissingHeaderError),
    ("event-malformed", _with("X-GitHub-Event", "issues; drop"), BODY, MissingHeaderError),
    ("delivery-malformed", _with("X-GitHub-Delivery", "a b"), BODY, MissingHeaderError),
    ("delivery-too-long", _with("X-GitHub-Delivery", "a" * 129), BODY, MissingHeaderError),
    (
        "form-encoded-without-payload-field",
        _with("Content-Type", "application/x-www-form-urlencoded"),
        BODY,
        PayloadError,
    ),
    ("xml", _with("Content-Type", "application/xml"), BODY, UnsupportedMediaTypeError),
    ("no-content-type", _without("Content-Type"), BODY, UnsupportedMediaTypeError),
    ("oversize", good_headers(), b"{" + b" " * LIMIT + b"}", PayloadTooLargeError),
]


@pytest.mark.parametrize(
    ("headers", "body", "error"),
    [(headers, body, error) for _, headers, body, error in REFUSALS],
    ids=[name for name, *_ in REFUSALS],
)
def test_refusals_name_what_is_wrong(
    headers: dict[str, str], body: bytes, error: type[WebhookError]
) -> None:
    with pytest.raises(error) as info:
        verify(headers, body, [SECRET], max_bytes=LIMIT)
    assert str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000],
    ids=["not-json", "array", "string", "not-utf8", "deeply-nested"],
)
def test_signed_bodies_that_are_not_json_objects_are_refused(body: bytes) -> None:
    headers = signed_headers(body, "issues", "d-1")
    with pytest.raises(PayloadError) as info:
        verify(headers, body, [SECRET], max_bytes=len(body) + 1)
    assert rejection(info.value) is Rejection.BAD_PAYLOAD


def test_no_configured_secret_accepts_nothing() -> None:
    with pytest.raises(SignatureError):
        verify(good_headers(), BODY, [], max_bytes=LIMIT)


def test_sha1_refusal_says_what_to_configure() -> None:
    with pytest.raises(SignatureError, match="X-Hub-Signature-256 is required"):
        verify(_sha1_only(), BODY, [SECRET], max_bytes=LIMIT)


@pytest.mark.parametrize(
    ("declared", "error"),
    [("2048", PayloadTooLargeError), ("lots", PayloadError)],
    ids=["too-large", "not-a-number"],
)
def test_declared_length_is_checked_before_reading(
    declared: str, error: type[WebhookError]
) -> None:
    with pytest.raises(error):
        check_declared_size(declared, LIMIT)


def test_declared_length_within_limit_or_absent_passes() -> None:
    check_declared_size("1024", LIMIT)
    check_declared_size(None, LIMIT)


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        (PayloadTooLargeError("x"), Rejection.TOO_LARGE, 413),
        (MissingHeaderError("x"), Rejection.MISSING_HEADER, 400),
        (SignatureError("x"), Rejection.BAD_SIGNATURE, 401),
        (UnsupportedMediaTypeError("x"), Rejection.MEDIA_TYPE, 415),
        (PayloadError("x"), Rejection.BAD_PAYLOAD, 400),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_each_refusal_has_a_code_and_status(
    exc: WebhookError, code: Rejection, status: int
) -> None:
    assert rejection(exc) is code
    assert exc.status == status


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"installation": None},
        {"installation": {"id": "7"}},
        {"sender": "x"},
        {"repository": []},
        {"action": 3},
        {"installation": {"id": True}},
    ],
    ids=[
        "empty",
        "null-installation",
        "string-id",
        "sender-string",
        "repo-list",
        "action-number",
        "bool-id",
    ],
)
def test_envelope_is_lenient_with_odd_payloads(payload: dict[str, object]) -> None:
    facts = envelope(payload)
    assert facts.installation_id is None
    assert facts.action is None
    assert facts.repo is None


def test_sign_matches_githubs_documented_example() -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(b"Hello, World!", "It's a Secret to Everybody") == expected
