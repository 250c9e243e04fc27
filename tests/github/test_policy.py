"""The retry and rate-limit policy decides from status and headers alone."""

from __future__ import annotations

import logging

import pytest

from bot.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubPermissionError,
    GitHubRateLimited,
    GitHubUnavailable,
    GitHubValidationError,
)
from bot.github import REDACTOR, Wait, backoff, expand, next_step

NOW = 1_700_000_000.0
ROUTE = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"


def step(
    status: int, headers: dict[str, str] | None = None, message: str = "", attempt: int = 1
) -> Wait | GitHubError:
    return next_step(status, headers or {}, message, attempt=attempt, now=NOW, route=ROUTE)


@pytest.mark.parametrize(
    ("status", "headers", "message", "attempt", "expected"),
    [
        (502, {}, "", 1, Wait(1.0)),
        (503, {}, "", 3, Wait(4.0)),
        (500, {}, "", 4, Wait(8.0)),
        (403, {"retry-after": "7"}, "", 1, Wait(7.0)),
        (429, {"retry-after": "3"}, "", 2, Wait(3.0)),
        (403, {"retry-after": "0"}, "", 1, Wait(0.0)),
    ],
    ids=["502-first", "503-third", "500-fourth", "retry-after-403", "retry-after-429", "zero"],
)
def test_waits(
    status: int, headers: dict[str, str], message: str, attempt: int, expected: Wait
) -> None:
    assert step(status, headers, message, attempt) == expected


@pytest.mark.parametrize(
    ("status", "headers", "message", "attempt", "kind", "retry_after", "reset_at"),
    [
        (502, {}, "", 5, GitHubUnavailable, None, None),
        (403, {"retry-after": "120"}, "", 1, GitHubRateLimited, 120.0, None),
        (403, {}, "You have exceeded a secondary rate limit.", 1, GitHubRateLimited, 60.0, None),
        (429, {}, "", 1, GitHubRateLimited, 60.0, None),
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 600)},
            "API rate limit exceeded for installation ID 1.",
            1,
            GitHubRateLimited,
            600.0,
            NOW + 600,
        ),
        (
            429,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 5)},
            "",
            1,
            GitHubRateLimited,
            5.0,
            NOW + 5,
        ),
        (403, {"retry-after": "2"}, "", 5, GitHubRateLimited, 2.0, None),
        (403, {}, "Resource not accessible by integration", 1, GitHubPermissionError, None, None),
        (401, {}, "Bad credentials", 1, GitHubAuthError, None, None),
        (404, {}, "Not Found", 1, GitHubNotFound, None, None),
        (422, {}, "Validation Failed", 1, GitHubValidationError, None, None),
        (418, {}, "", 1, GitHubError, None, None),
    ],
    ids=[
        "5xx-exhausted",
        "retry-after-too-long",
        "secondary-without-header-waits-60",
        "429-without-header",
        "primary-exhausted",
        "primary-exhausted-429",
        "secondary-attempts-exhausted",
        "plain-403",
        "401",
        "404",
        "422",
        "other",
    ],
)
def test_errors(
    status: int,
    headers: dict[str, str],
    message: str,
    attempt: int,
    kind: type[GitHubError],
    retry_after: float | None,
    reset_at: float | None,
) -> None:
    outcome = step(status, headers, message, attempt)
    assert type(outcome) is kind
    assert isinstance(outcome, GitHubError)
    assert outcome.status == status
    assert outcome.route == ROUTE
    if isinstance(outcome, GitHubRateLimited):
        assert (outcome.retry_after, outcome.reset_at) == (retry_after, reset_at)


def test_backoff_is_bounded() -> None:
    assert [backoff(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


@pytest.mark.parametrize(
    ("route", "params", "url"),
    [
        ("/repos/{owner}/{repo}", {"owner": "a", "repo": "b"}, "/repos/a/b"),
        (
            "/repos/{owner}/{repo}/issues/{number}/labels/{name}",
            {"owner": "a", "repo": "b", "number": 3, "name": "needs review/ok?"},
            "/repos/a/b/issues/3/labels/needs%20review%2Fok%3F",
        ),
        (
            "/repos/{owner}/{repo}/contents/{+path}",
            {"owner": "a", "repo": "b", "path": ".github/tech lead.yml"},
            "/repos/a/b/contents/.github/tech%20lead.yml",
        ),
    ],
    ids=["plain", "label-escaped", "path-keeps-slashes"],
)
def test_expand(route: str, params: dict[str, object], url: str) -> None:
    assert expand(route, params) == url


def test_error_messages_never_carry_known_secrets() -> None:
    REDACTOR.add("sandbox-secret-value-123")
    outcome = step(422, {}, "body mentions sandbox-secret-value-123 and ghs_abcdefghijklmnop")
    assert "sandbox-secret-value-123" not in str(outcome)
    assert "ghs_abcdefghijklmnop" not in str(outcome)


def test_the_redactor_scrubs_token_fields_in_log_records() -> None:
    record = logging.LogRecord(
        "github.Requester", logging.DEBUG, __file__, 1, "%s", ('{"token": "v1.abc", "x": 1}',), None
    )
    assert REDACTOR.filter(record)
    assert record.getMessage() == '{"token": "***", "x": 1}'
