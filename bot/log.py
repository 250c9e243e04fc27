"""Structured logging: JSON or console lines carrying the delivery id, with secrets masked."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

import structlog

from bot.jobs import Job
from bot.settings import LogFormat, Settings

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4

# Shapes of credentials that must never reach a log line. Each keeps a harmless
# prefix (the scheme) so the line still says what kind of value was there.
# https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/
TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bgithub_pat_\w+"), MASK),
    (re.compile(r"\bgh[pousr]_\w+"), MASK),
    (re.compile(r"\bv1\.[0-9a-f]{40}\b"), MASK),
    (re.compile(r"\b(bearer)\s+[\w.~+/=-]+", re.IGNORECASE), rf"\1 {MASK}"),
    (re.compile(r"\b(token)\s+[\w.~+/=-]{20,}", re.IGNORECASE), rf"\1 {MASK}"),
    (re.compile(r"x-access-token:[^@\s/]+"), f"x-access-token:{MASK}"),
    (re.compile(r"\beyJ[\w-]+(\.[\w-]+){0,2}"), MASK),
    (
        re.compile(
            r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(-----END[A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        MASK,
    ),
)

# Every pattern above starts with one of these (in lower case); text without any skips
# the patterns. Substring tests: one case-insensitive regex alternation scanned at
# about 5 characters per microsecond, a cost every log line paid.
_TOKEN_HINTS = (
    *("github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    *("v1.", "bearer", "token", "eyj", "private key"),
)


def _may_hold_token(text: str) -> bool:
    lowered = text.lower()
    return any(hint in lowered for hint in _TOKEN_HINTS)


class Redactor:
    """A structlog processor masking token-shaped strings and the configured secrets."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        usable = {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted(usable, key=len, reverse=True)

    def __call__(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
        if self._clean(event_dict.values()):
            return event_dict  # the common case, checked with one scan of all values
        for key, value in event_dict.items():
            event_dict[key] = self.scrub(value)
        return event_dict

    def _clean(self, values: Iterable[Any]) -> bool:
        """True when no value can hold a secret: plain scalars, no suspicious text."""
        texts = []
        for value in values:
            if isinstance(value, str):
                texts.append(value)
            elif not (value is None or isinstance(value, int | float)):
                return False
        # NUL joins the values: no secret or token prefix spans two of them.
        return self._plain("\0".join(texts))

    def _plain(self, text: str) -> bool:
        return not _may_hold_token(text) and not any(s in text for s in self._secrets)

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.scrub(item) for item in value)
        return value

    def text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if not _may_hold_token(text):
            return text  # the common case, checked with one scan
        for pattern, replacement in TOKEN_PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def secrets_of(settings: Settings) -> list[str]:
    values = [
        *settings.webhook_secrets,
        settings.github_token,
        settings.private_key,
        settings.llm_api_key,
        settings.dashboard_token,
    ]
    return [value for value in values if value]


def _ensure_delivery_id(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
    # Every line has the field, so a log search by delivery id never misses a shape.
    event_dict.setdefault("delivery_id", None)
    return event_dict


def processors(settings: Settings) -> list[Any]:
    """The chain shared by structlog loggers and the standard library (uvicorn)."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _ensure_delivery_id,
        structlog.processors.StackInfoRenderer(),
        # Exceptions become text *before* redaction, so secrets in messages are masked.
        structlog.processors.format_exc_info,
        Redactor(secrets_of(settings)),
    ]


def renderer(log_format: LogFormat) -> Any:
    if log_format is LogFormat.CONSOLE:
        return structlog.dev.ConsoleRenderer(colors=False)
    return structlog.processors.JSONRenderer(serializer=_json_line)


# One encoder for every line: ``json.dumps`` with options builds a new one per call.
_ENCODER = json.JSONEncoder(default=repr)


def _json_line(event_dict: Any, **options: Any) -> str:
    return _ENCODER.encode(event_dict)


LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Route structlog and standard logging through one redacting chain to ``stream``."""
    out = stream or sys.stderr
    chain = processors(settings)
    render = renderer(settings.log_format)
    structlog.configure(
        processors=[*chain, render],
        logger_factory=structlog.PrintLoggerFactory(out),
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=chain,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, render],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    for name in LIBRARY_LOGGERS:
        # A library configured earlier in the process (uvicorn's default dictConfig
        # sets "uvicorn" to propagate=False) would otherwise bypass the redacting chain.
        library = logging.getLogger(name)
        library.handlers = []
        library.propagate = True


def get_logger(**bound: Any) -> Any:
    return structlog.get_logger("techlead").bind(**bound)


def info_lines(events: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """One info line per event, through the configured processors, written at once.

    For lines logged in bulk (a batch of webhook deliveries committed together): the
    same processors (time stamp, redaction, format) as :func:`get_logger`, with one
    write and no logger bound per line.
    """
    config = structlog.get_config()
    out = config["logger_factory"]()
    if not isinstance(out, structlog.PrintLogger):
        for event, fields in events:
            get_logger().info(event, **fields)
        return
    lines = [line for event, fields in events if (line := _render(config, out, event, fields))]
    if lines:
        out.msg("\n".join(lines))


def _render(config: Mapping[str, Any], out: Any, event: str, fields: Mapping[str, Any]) -> str:
    event_dict: Any = {**fields, "event": event}
    try:
        for processor in config["processors"]:
            event_dict = processor(out, "info", event_dict)
    except structlog.DropEvent:
        return ""
    return event_dict if isinstance(event_dict, str) else str(event_dict)


def job_fields(job: Job) -> dict[str, Any]:
    return {
        "delivery_id": job.delivery_id,
        "trace_id": job.trace_id,
        "job_id": job.id,
        "job_kind": job.kind,
        "attempt": job.attempts,
    }


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Attach ``fields`` to every line logged in this thread/task until the block ends."""
    with structlog.contextvars.bound_contextvars(**fields):
        yield
