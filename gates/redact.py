"""Hides secrets in any text TechLead shows: keep at most the first four characters."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

ELLIPSIS = "…"
# Values shorter than this are too generic to hunt for in free text.
MIN_VALUE_LENGTH = 6

# High-confidence token formats: the prefix identifies the issuer, the rest is the secret.
TOKEN_PATTERNS: dict[str, re.Pattern[str]] = {
    "aws-access-key": re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    "github-token": re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b"),
    "github-fine-grained-token": re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b"),
    "slack-token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,250}"),
    "slack-webhook": re.compile(
        r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"
    ),
    "stripe-live-key": re.compile(r"\b(?:sk|rk)_live_[0-9A-Za-z]{16,247}\b"),
    "google-api-key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"),
}
PRIVATE_KEY = re.compile(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----")


def redact(value: str) -> str:
    """``AKIAIOSFODNN7EXAMPLE`` -> ``AKIA…``; short values keep less (a quarter at most)."""
    keep = min(4, len(value) // 4)
    return value[:keep] + ELLIPSIS


def digest(value: str) -> str:
    """A short, one-way stand-in for ``value``: tells two secrets apart, shows neither."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def redact_text(text: str, values: Iterable[str] = ()) -> str:
    """``text`` with every known token format and every one of ``values`` redacted."""
    for value in sorted(set(values), key=len, reverse=True):
        if len(value) >= MIN_VALUE_LENGTH:
            text = text.replace(value, redact(value))
    for pattern in TOKEN_PATTERNS.values():
        text = pattern.sub(lambda match: redact(match.group(0)), text)
    return text
