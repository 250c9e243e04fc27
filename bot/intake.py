"""Pure verification of one webhook delivery: size, headers, signature, JSON body.

No I/O here: the HTTP route reads the body and hands over bytes and headers; this
module either returns a :class:`Delivery` or raises a :class:`WebhookError`.
https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import msgspec

from bot.errors import (
    MissingHeaderError,
    PayloadError,
    PayloadTooLargeError,
    SignatureError,
    UnsupportedMediaTypeError,
    WebhookError,
)

EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"
SIGNATURE_HEADER = "x-hub-signature-256"
SHA1_SIGNATURE_HEADER = "x-hub-signature"
SIGNATURE_PREFIX = "sha256="
JSON_MEDIA_TYPE = "application/json"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
FORM_FIELD = "payload"
# GitHub's ids are positive 64-bit integers; anything else is not an id (and would not
# fit the store's INTEGER column).
MAX_ID = 2**63 - 1
MAX_ROUTING_TEXT = 512
MAX_FORM_FIELDS = 16

_EVENT_NAME = re.compile(r"[a-z0-9_]{1,64}")
_DELIVERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ACTION = re.compile(r"[a-z0-9_]{1,64}")

MSG_TOO_LARGE = "body is {size} bytes; the limit is {limit} bytes"
MSG_BAD_LENGTH = "Content-Length is not a number"
MSG_MISSING = "required header {header} is missing"
MSG_MALFORMED = "header {header} is malformed"
MSG_SHA1_ONLY = (
    "only X-Hub-Signature (SHA-1) was sent; X-Hub-Signature-256 is required "
    "(set a webhook secret on the GitHub App or hook)"
)
MSG_BAD_SIGNATURE = "X-Hub-Signature-256 does not match the body for any configured secret"
MSG_MEDIA_TYPE = (
    "content type must be application/json or application/x-www-form-urlencoded, got {got!r}"
)
MSG_NOT_JSON = "body is not valid JSON"
MSG_NOT_OBJECT = "body must be a JSON object"
MSG_NO_FORM_PAYLOAD = "a form-encoded body must carry exactly one 'payload' field"
MSG_NOT_STORABLE = "the delivery cannot be stored: {reason}"


class Rejection(enum.StrEnum):
    """Why a delivery was refused; the ``error`` field of the JSON answer."""

    TOO_LARGE = "payload_too_large"
    MISSING_HEADER = "missing_header"
    BAD_SIGNATURE = "bad_signature"
    MEDIA_TYPE = "unsupported_media_type"
    BAD_PAYLOAD = "bad_payload"


# Most specific class first: the first isinstance match names the rejection.
_REJECTIONS: tuple[tuple[type[WebhookError], Rejection], ...] = (
    (PayloadTooLargeError, Rejection.TOO_LARGE),
    (MissingHeaderError, Rejection.MISSING_HEADER),
    (SignatureError, Rejection.BAD_SIGNATURE),
    (UnsupportedMediaTypeError, Rejection.MEDIA_TYPE),
    (PayloadError, Rejection.BAD_PAYLOAD),
)


@dataclass(frozen=True)
class Envelope:
    """The routing facts of a payload; every field is optional in real payloads."""

    action: str | None = None
    installation_id: int | None = None
    repo: str | None = None
    sender_login: str | None = None
    sender_type: str | None = None


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: headers checked, signature valid, body a JSON object.

    ``body`` is the JSON document as sent: the whole body of an ``application/json``
    delivery, the ``payload`` field of a form-encoded one (its signature was checked
    over the raw form body before).
    """

    delivery_id: str
    event: str
    body: bytes
    payload: dict[str, Any]
    envelope: Envelope


@dataclass(frozen=True)
class Checked:
    """A delivery whose headers and signature are checked; its JSON is not parsed yet.

    ``document`` is what :func:`parse_payload` takes: the body of an
    ``application/json`` delivery, the ``payload`` field of a form-encoded one.
    """

    delivery_id: str
    event: str
    document: bytes


def rejection(exc: WebhookError) -> Rejection:
    for kind, code in _REJECTIONS:
        if isinstance(exc, kind):
            return code
    return Rejection.BAD_PAYLOAD


def check_declared_size(content_length: str | None, limit: int) -> None:
    """Refuse early on the declared length, before reading a byte of the body."""
    if content_length is None:
        return
    if not content_length.strip().isdigit():
        raise PayloadError(MSG_BAD_LENGTH)
    check_size(int(content_length), limit)


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise PayloadTooLargeError(MSG_TOO_LARGE.format(size=size, limit=limit))


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return SIGNATURE_PREFIX + hmac.digest(secret.encode(), body, hashlib.sha256).hex()


def verify(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], *, max_bytes: int
) -> Delivery:
    """Verify one delivery or raise the :class:`WebhookError` naming what is wrong."""
    lowered = {name.lower(): value for name, value in headers.items()}
    return parse(check(lowered, body, secrets, max_bytes=max_bytes))


def check(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], *, max_bytes: int
) -> Checked:
    """Everything :func:`verify` checks but the JSON; ``headers`` named in lower case.

    The JSON can then be parsed where its cost does not hold up other deliveries.
    """
    check_size(len(body), max_bytes)
    event = _required(headers, EVENT_HEADER, _EVENT_NAME)
    delivery_id = _required(headers, DELIVERY_HEADER, _DELIVERY_ID)
    verify_signature(headers, body, secrets)
    media_type = _media_type(headers.get("content-type", ""))
    document = form_payload(body) if media_type == FORM_MEDIA_TYPE else body
    return Checked(delivery_id, event, document)


def parse(checked: Checked) -> Delivery:
    """The checked delivery with its JSON parsed, or :class:`PayloadError`."""
    payload = parse_payload(checked.document)
    found = envelope(payload)
    return Delivery(checked.delivery_id, checked.event, checked.document, payload, found)


class _RoutingFields(msgspec.Struct):
    """The top-level fields :func:`envelope` reads; any others are checked, then skipped."""

    action: Any = None
    installation: Any = None
    repository: Any = None
    sender: Any = None


_ROUTING_FIELDS = msgspec.json.Decoder(_RoutingFields)


def parse_for_storage(checked: Checked) -> Delivery:
    """Like :func:`parse`, but with only the routing facts read: ``payload`` is empty.

    What is stored is the raw document; building every object of a 10 kB payload
    costs four times what reading four fields does. A document the fast reader refuses
    (not UTF-8, a lone surrogate, a number out of range, not an object...) is read by
    :func:`parse`, so what is accepted and refused is exactly what the JSON module
    accepts and refuses.
    """
    try:
        fields = _ROUTING_FIELDS.decode(checked.document)
    except (msgspec.DecodeError, RecursionError):
        delivery = parse(checked)
        return Delivery(checked.delivery_id, checked.event, checked.document, {}, delivery.envelope)
    found = envelope(
        {
            "action": fields.action,
            "installation": fields.installation,
            "repository": fields.repository,
            "sender": fields.sender,
        }
    )
    return Delivery(checked.delivery_id, checked.event, checked.document, {}, found)


def verify_signature(headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> None:
    """Constant-time check against every configured secret (several allow rotation)."""
    received = headers.get(SIGNATURE_HEADER)
    if received is None:
        if SHA1_SIGNATURE_HEADER in headers:
            raise SignatureError(MSG_SHA1_ONLY)
        raise MissingHeaderError(MSG_MISSING.format(header="X-Hub-Signature-256"))
    given = received.strip().encode("utf-8", "replace")
    # Every secret is tried, whichever matches, so timing does not tell which one did.
    matches = [hmac.compare_digest(sign(body, secret).encode(), given) for secret in secrets]
    if not any(matches):
        raise SignatureError(MSG_BAD_SIGNATURE)


def form_payload(body: bytes) -> bytes:
    """The JSON inside a form-encoded delivery (a hook set to ``x-www-form-urlencoded``).

    GitHub signs the raw form body, so the signature is checked before this runs; the
    JSON document is the one ``payload`` field.
    https://docs.github.com/en/webhooks/using-webhooks/creating-webhooks
    """
    try:
        fields = parse_qs(
            body.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=True,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(MSG_NO_FORM_PAYLOAD) from exc
    values = fields.get(FORM_FIELD, [])
    if len(values) != 1:
        raise PayloadError(MSG_NO_FORM_PAYLOAD)
    return values[0].encode("utf-8")


_JSON = msgspec.json.Decoder()


def load_json(body: bytes) -> Any:
    """``json.loads``, about twice as fast on a real payload: msgspec reads it, and
    anything msgspec refuses (not UTF-8, a lone surrogate, an integer past 64 bits,
    ``NaN``...) is read by the json module, so what is accepted, refused and built
    is exactly what ``json.loads`` accepts, refuses and builds."""
    try:
        return _JSON.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return json.loads(body)


def parse_payload(body: bytes) -> dict[str, Any]:
    try:
        payload = load_json(body)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(MSG_NOT_JSON) from exc
    if not isinstance(payload, dict):
        raise PayloadError(MSG_NOT_OBJECT)
    return payload


def envelope(payload: Mapping[str, Any]) -> Envelope:
    """Read action, installation, repository and sender leniently: any may be absent.

    A signed payload can still hold values no real delivery has (an id past 64 bits, a
    lone surrogate, a megabyte "action"); such a field reads as absent, so the routing
    facts are always storable, loggable and fit for metric labels.
    """
    sender = _mapping(payload.get("sender"))
    action = _string(payload.get("action"))
    return Envelope(
        action=action if action is not None and _ACTION.fullmatch(action) else None,
        installation_id=_integer(_mapping(payload.get("installation")).get("id")),
        repo=_string(_mapping(payload.get("repository")).get("full_name")),
        sender_login=_string(sender.get("login")),
        sender_type=_string(sender.get("type")),
    )


def _required(headers: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise MissingHeaderError(MSG_MISSING.format(header=_title(name)))
    if not pattern.fullmatch(value):
        raise MissingHeaderError(MSG_MALFORMED.format(header=_title(name)))
    return value


def _title(name: str) -> str:
    """A header's name as GitHub's docs spell it: ``X-GitHub-Delivery``."""
    return "-".join("GitHub" if part == "github" else part.title() for part in name.split("-"))


def _media_type(content_type: str) -> str:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in (JSON_MEDIA_TYPE, FORM_MEDIA_TYPE):
        raise UnsupportedMediaTypeError(MSG_MEDIA_TYPE.format(got=media_type[:100]))
    return media_type


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _string(value: object) -> str | None:
    if not isinstance(value, str) or not value or len(value) > MAX_ROUTING_TEXT:
        return None
    return value if _encodable(value) else None


def _encodable(text: str) -> bool:
    """False for text holding lone surrogates, which JSON allows and UTF-8 cannot carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _integer(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= MAX_ID else None
