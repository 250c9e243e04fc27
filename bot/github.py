"""The GitHub port over PyGithub: auth, retries, rate limits, write pacing, ETags, counts.

This is the only module that imports PyGithub. Every API call goes through one seam,
:meth:`GitHubClient.request`, which wraps PyGithub's ``Requester.requestJson`` (the
client's documented way to reach any endpoint, see ``Github.requester``). PyGithub
provides the authenticated connection, JWT signing and base-URL handling; its own
retry and request spacing are switched off because this seam replaces them with a
policy that can be tested without waiting:

* 5xx and connection failures: bounded exponential backoff through an injected sleep;
* secondary rate limits (403/429): wait ``Retry-After`` (at least 60 s without it) when
  that is short, else raise ``GitHubRateLimited(retry_after=...)`` so the job queue
  reschedules instead of blocking a worker;
* an exhausted primary budget (``X-RateLimit-Remaining: 0``): ``GitHubRateLimited
  (reset_at=...)``, and no further request is sent until the reset;
* writes are serialised per installation and spaced ``Settings.write_interval`` apart;
* GETs are conditional (``If-None-Match``); a 304 costs no quota;
* every request is counted by route template and status.

https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api

Tokens never appear in exception messages, and PyGithub's debug log is redacted.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from github import Auth, Github
from github.Requester import Requester

from bot.context import Clock, SystemClock
from bot.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubPermissionError,
    GitHubRateLimited,
    GitHubUnavailable,
    GitHubValidationError,
    SettingsError,
)
from bot.ports import (
    Annotation,
    CheckOutput,
    CheckRunInfo,
    CommentInfo,
    FileChange,
    HookDelivery,
    IssueInfo,
    PullInfo,
    ReviewCommentInfo,
    ReviewInfo,
)
from bot.settings import AuthMode, Settings

log = logging.getLogger(__name__)

OnRequest = Callable[[str, int], None]
# Called with the identity ("installation:42", "token", "app") and X-RateLimit-Remaining,
# -Limit and -Reset (None when a header is missing).
OnRateLimit = Callable[[str, int, int | None, float | None], None]
Sleep = Callable[[float], None]

DEFAULT_TIMEOUT = 30
# One try and up to four retries, 1 s, 2 s, 4 s, 8 s apart (capped).
MAX_ATTEMPTS = 5
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
# "If you receive a rate limit error without retry-after, wait at least one minute."
SECONDARY_DEFAULT_WAIT = 60.0
# Longer waits are handed back to the job queue instead of blocking a worker.
MAX_INLINE_WAIT = 30.0
# Installation tokens live one hour; refresh when fewer than five minutes remain.
TOKEN_REFRESH_MARGIN = 300.0
# JWTs: iat backdated for clock drift, exp at most 10 minutes after iat.
JWT_BACKDATE = 60
JWT_LIFETIME = 540
JWT_REFRESH_MARGIN = 60.0
ETAG_CACHE_SIZE = 1024
PER_PAGE = 100
MAX_PAGES = 100
# Check runs: at most 50 annotations per request; output texts at most 65,535 chars.
ANNOTATIONS_PER_REQUEST = 50
MAX_OUTPUT_CHARS = 65_535
MAX_ANNOTATION_TITLE = 255
MAX_ANNOTATION_MESSAGE = 64 * 1024
MAX_BODY_CHARS = 65_536
MAX_STATUS_DESCRIPTION = 140
TRUNCATED = "\n\n… (truncated)"
GIT_USERNAME = "x-access-token"
ACCEPT = "application/vnd.github+json"
PERMISSION_LEVELS = ("admin", "maintain", "write", "triage", "read", "none")
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
WRITE_VERBS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

TOKEN_MODE = "token"  # noqa: S105 - an identity name, not a secret
APP_IDENTITY = "app"


# ---------------------------------------------------------------------------- secrets


class _Redactor(logging.Filter):
    """Removes credentials from PyGithub's debug records (it logs response bodies,
    and the installation-token response carries the token)."""

    PATTERNS = (
        re.compile(r"gh[opsur]_[A-Za-z0-9_]{10,}"),
        re.compile(r"github_pat_[A-Za-z0-9_]{10,}"),
        re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
        re.compile(r"(?<=['\"]token['\"]: ['\"])[^'\"]+"),
    )

    def __init__(self) -> None:
        super().__init__()
        self._secrets: collections.deque[str] = collections.deque(maxlen=512)
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if secret:
            with self._lock:
                self._secrets.append(secret)

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = list(self._secrets)
        for secret in secrets:
            text = text.replace(secret, "***")
        for pattern in self.PATTERNS:
            text = pattern.sub("***", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = ()
        return True


REDACTOR = _Redactor()


def _install_redactor() -> None:
    for name in ("github.Requester", "github.GithubRetry", "github"):
        logger = logging.getLogger(name)
        if REDACTOR not in logger.filters:
            logger.addFilter(REDACTOR)


class _HeaderAuth(Auth.Auth):
    """A PyGithub auth whose credential is looked up on every request (so refreshed
    installation tokens and JWTs are used without rebuilding the client)."""

    def __init__(self, token_type: str, supplier: Callable[[], str]) -> None:
        self._token_type = token_type
        self._supplier = supplier

    @property
    def token_type(self) -> str:
        return self._token_type

    @property
    def token(self) -> str:
        return self._supplier()

    @property
    def _masked_token(self) -> str:
        return f"{self._token_type} (removed)"


# ---------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class Response:
    """One decoded API answer (after retries, with 304s answered from the cache)."""

    status: int
    headers: Mapping[str, str]
    data: Any


@dataclass(frozen=True)
class Wait:
    """Retry the request after ``seconds``."""

    seconds: float


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based) after a 5xx."""
    return float(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


def next_step(
    status: int,
    headers: Mapping[str, str],
    message: str,
    *,
    attempt: int,
    now: float,
    route: str,
    max_inline_wait: float = MAX_INLINE_WAIT,
) -> Wait | GitHubError:
    """Decide what a failed answer means: wait and retry, or the error to raise."""
    if status in (403, 429):
        limited = _rate_limit_step(status, headers, message, now=now, route=route)
        if limited is not None:
            return _wait_or_raise(limited, attempt, max_inline_wait)
    if status in RETRYABLE_STATUSES:
        if attempt < MAX_ATTEMPTS:
            return Wait(backoff(attempt))
        return GitHubUnavailable(
            f"{route} failed with {status} after {attempt} attempts", status=status, route=route
        )
    return _error_for(status, message, route)


def _rate_limit_step(
    status: int, headers: Mapping[str, str], message: str, *, now: float, route: str
) -> GitHubRateLimited | None:
    retry_after = _number(headers.get("retry-after"))
    if retry_after is not None:
        return _limited("secondary rate limit", status, route, retry_after=retry_after)
    if headers.get("x-ratelimit-remaining") == "0":
        reset_at = _number(headers.get("x-ratelimit-reset")) or now + SECONDARY_DEFAULT_WAIT
        return _limited(
            "rate limit exhausted",
            status,
            route,
            retry_after=max(0.0, reset_at - now),
            reset_at=reset_at,
        )
    if status == 429 or _is_secondary_message(message):
        return _limited("secondary rate limit", status, route, retry_after=SECONDARY_DEFAULT_WAIT)
    return None


def _wait_or_raise(
    limited: GitHubRateLimited, attempt: int, max_inline_wait: float
) -> Wait | GitHubError:
    wait = limited.retry_after or 0.0
    if limited.reset_at is None and wait <= max_inline_wait and attempt < MAX_ATTEMPTS:
        return Wait(wait)
    return limited


def _limited(
    what: str,
    status: int,
    route: str,
    *,
    retry_after: float,
    reset_at: float | None = None,
) -> GitHubRateLimited:
    return GitHubRateLimited(
        f"{route}: {what}; retry in {retry_after:.0f} s",
        status=status,
        route=route,
        retry_after=retry_after,
        reset_at=reset_at,
    )


def _is_secondary_message(message: str) -> bool:
    lowered = message.lower()
    return "secondary rate limit" in lowered or "abuse" in lowered


_ERRORS: dict[int, type[GitHubError]] = {
    401: GitHubAuthError,
    403: GitHubPermissionError,
    404: GitHubNotFound,
    410: GitHubNotFound,
    409: GitHubValidationError,
    422: GitHubValidationError,
}


def _error_for(status: int, message: str, route: str) -> GitHubError:
    kind = _ERRORS.get(status, GitHubUnavailable if status >= 500 else GitHubError)
    text = f"{route} failed with {status}"
    if message:
        text = f"{text}: {REDACTOR.scrub(message)}"
    return kind(text, status=status, route=route)


def _number(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _github_message(data: Any) -> str:
    """GitHub's ``message`` plus the details of a 422, shortened."""
    if not isinstance(data, Mapping):
        return ""
    message = str(data.get("message") or "")
    details = [
        str(item.get("message") or item.get("code") or item)
        if isinstance(item, Mapping)
        else str(item)
        for item in data.get("errors") or []
    ]
    if details:
        message = f"{message} ({'; '.join(details)})"
    return message[:500]


# ---------------------------------------------------------------------------- machinery


class RequestStats:
    """Requests counted by ``"VERB /route/{template}"`` and status (0: no answer)."""

    def __init__(self, on_request: OnRequest | None = None) -> None:
        self._counts: collections.Counter[tuple[str, int]] = collections.Counter()
        self._lock = threading.Lock()
        self._on_request = on_request

    def record(self, route: str, status: int) -> None:
        with self._lock:
            self._counts[(route, status)] += 1
        if self._on_request is not None:
            self._on_request(route, status)

    def counts(self) -> dict[tuple[str, int], int]:
        with self._lock:
            return dict(self._counts)

    def total(self, route: str | None = None, status: int | None = None) -> int:
        return sum(
            count
            for (seen_route, seen_status), count in self.counts().items()
            if route in (None, seen_route) and status in (None, seen_status)
        )


class _Pacer:
    """Serialises writes per identity, at least ``interval`` seconds apart."""

    def __init__(self, interval: float, clock: Clock, sleep: Sleep) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._locks: dict[str, threading.Lock] = collections.defaultdict(threading.Lock)
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def slot(self, identity: str, verb: str) -> Iterator[None]:
        if verb not in WRITE_VERBS:
            yield
            return
        with self._guard:
            lock = self._locks[identity]
        with lock:
            last = self._last.get(identity)
            if last is not None and self._interval > 0:
                wait = last + self._interval - self._clock.now()
                if wait > 0:
                    self._sleep(wait)
            try:
                yield
            finally:
                self._last[identity] = self._clock.now()


class _EtagCache:
    """Last 200 answer per (identity, URL) with its ETag, least recently used dropped."""

    def __init__(self, size: int = ETAG_CACHE_SIZE) -> None:
        self._items: collections.OrderedDict[tuple[str, str], tuple[str, Any]] = (
            collections.OrderedDict()
        )
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[str, Any] | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[str, str], etag: str, data: Any) -> None:
        with self._lock:
            self._items[key] = (etag, data)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass
class _Token:
    value: str
    expires_at: float


def expand(route: str, params: Mapping[str, object]) -> str:
    """Fill ``{name}`` placeholders, percent-encoding each value (``{+path}`` keeps ``/``)."""

    def fill(match: re.Match[str]) -> str:
        keep_slashes = match.group(1) == "+"
        value = str(params[match.group(2)])
        return quote(value, safe="/" if keep_slashes else "")

    return re.sub(r"\{(\+?)(\w+)\}", fill, route)


def _split(repo: str) -> dict[str, str]:
    owner, _, name = repo.partition("/")
    if not owner or not name:
        raise ValueError(f"repository must be 'owner/name', got {repo!r}")
    return {"owner": owner, "repo": name}


# ---------------------------------------------------------------------------- client


class GitHubClient:
    """Credentials, caches, pacing and counters shared by every port it hands out.

    ``port(installation_id)`` gives the :class:`bot.ports.GitHubPort` for one installation
    (App mode; with None the installation is looked up per repository) or for the token
    (token mode). ``clock`` and ``sleep`` are injected so tests never wait.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        sleep: Sleep = time.sleep,
        on_request: OnRequest | None = None,
        on_rate_limit: OnRateLimit | None = None,
        max_inline_wait: float = MAX_INLINE_WAIT,
        timeout: int = DEFAULT_TIMEOUT,
    ) -> None:
        settings.require_github()
        _install_redactor()
        REDACTOR.add(settings.github_token)
        self.settings = settings
        self.stats = RequestStats(on_request)
        self._on_rate_limit = on_rate_limit
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._max_inline_wait = max_inline_wait
        self._timeout = timeout
        self._pacer = _Pacer(settings.write_interval, self._clock, sleep)
        self._etags = _EtagCache()
        self._requesters: dict[str, Requester] = {}
        self._tokens: dict[int, _Token] = {}
        self._installations: dict[str, int] = {}
        self._exhausted: dict[str, float] = {}
        self._jwt: _Token | None = None
        self._lock = threading.RLock()
        self._token_lock = threading.Lock()
        self._sign = (
            Auth.AppAuth.create_jwt_sign(settings.private_key, "RS256")
            if settings.auth_mode is AuthMode.APP and settings.private_key
            else None
        )

    # -- ports and credentials

    def port(self, installation_id: int | None = None) -> GitHubApi:
        return GitHubApi(self, installation_id)

    def remember_installation(self, repo: str, installation_id: int) -> None:
        """Note a repository's installation (from a webhook payload) to skip a lookup."""
        with self._lock:
            self._installations[repo.lower()] = installation_id

    def identity_for(self, repo: str | None, installation_id: int | None = None) -> str:
        if self.settings.auth_mode is AuthMode.TOKEN:
            return TOKEN_MODE
        if installation_id is None:
            if repo is None:
                return APP_IDENTITY
            installation_id = self.installation_for(repo)
        return f"installation:{installation_id}"

    def installation_for(self, repo: str) -> int:
        with self._lock:
            known = self._installations.get(repo.lower())
        if known is not None:
            return known
        found = self.request(
            APP_IDENTITY, "GET", "/repos/{owner}/{repo}/installation", _split(repo)
        )
        self.remember_installation(repo, int(found.data["id"]))
        return int(found.data["id"])

    def credential(self, identity: str) -> str:
        """The bearer credential of an identity: the token, a JWT or an installation token."""
        if identity == TOKEN_MODE:
            assert self.settings.github_token is not None
            return self.settings.github_token
        if identity == APP_IDENTITY:
            return self.app_jwt()
        return self.installation_token(int(identity.split(":", 1)[1]))

    def app_jwt(self) -> str:
        """A signed App JWT: iat 60 s in the past, exp 9 minutes ahead (10 minutes total)."""
        if self._sign is None or self.settings.app_id is None:
            raise SettingsError("TECHLEAD_APP_ID", "this call needs GitHub App credentials")
        now = self._clock.now()
        with self._lock:
            if self._jwt is not None and self._jwt.expires_at - now > JWT_REFRESH_MARGIN:
                return self._jwt.value
            issued = int(now)
            payload = {
                "iat": issued - JWT_BACKDATE,
                "exp": issued + JWT_LIFETIME,
                "iss": str(self.settings.app_id),
            }
            signed = self._sign(payload)
            value = signed.decode() if isinstance(signed, bytes) else signed
            REDACTOR.add(value)
            self._jwt = _Token(value, float(issued + JWT_LIFETIME))
            return value

    def installation_token(self, installation_id: int) -> str:
        """A cached installation token, refreshed when fewer than 5 minutes remain."""
        with self._token_lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and cached.expires_at - self._clock.now() > TOKEN_REFRESH_MARGIN:
                return cached.value
            minted = self.request(
                APP_IDENTITY,
                "POST",
                "/app/installations/{installation_id}/access_tokens",
                {"installation_id": installation_id},
            )
            token = _Token(
                str(minted.data["token"]),
                datetime.fromisoformat(str(minted.data["expires_at"])).timestamp(),
            )
            REDACTOR.add(token.value)
            self._tokens[installation_id] = token
            return token.value

    # -- the one seam

    def request(
        self,
        identity: str,
        verb: str,
        route: str,
        params: Mapping[str, object] | None = None,
        *,
        query: Mapping[str, object] | None = None,
        body: Any = None,
    ) -> Response:
        """Send one API call with retries, pacing, ETags and counting; decode the JSON."""
        url = expand(route, params or {})
        # Counted under GitHub's own path template (as in its OpenAPI description).
        name = f"{verb} {route.replace('{+', '{')}"
        self._check_budget(identity, name)
        with self._pacer.slot(identity, verb):
            for attempt in range(1, MAX_ATTEMPTS + 1):
                outcome = self._attempt(identity, verb, name, url, query, body, attempt)
                if isinstance(outcome, Response):
                    return outcome
                self._sleep(outcome.seconds)
        raise AssertionError("unreachable: the last attempt always answers or raises")

    def _attempt(
        self,
        identity: str,
        verb: str,
        name: str,
        url: str,
        query: Mapping[str, object] | None,
        body: Any,
        attempt: int,
    ) -> Response | Wait:
        cache_key = (identity, f"{url}?{sorted((query or {}).items())}")
        cached = self._etags.get(cache_key) if verb == "GET" else None
        headers = {"Accept": ACCEPT}
        if cached is not None:
            headers["If-None-Match"] = cached[0]
        try:
            status, raw_headers, text = self._requester(identity).requestJson(
                verb, url, dict(query) if query else None, headers, body
            )
        except OSError as exc:
            self.stats.record(name, 0)
            if attempt < MAX_ATTEMPTS:
                return Wait(backoff(attempt))
            raise GitHubUnavailable(
                f"{name}: GitHub did not answer after {attempt} attempts ({type(exc).__name__})",
                route=name,
            ) from exc
        self.stats.record(name, status)
        response_headers = {key.lower(): str(value) for key, value in raw_headers.items()}
        self._note_budget(identity, response_headers)
        if status == 304 and cached is not None:
            return Response(200, response_headers, cached[1])
        data = _decode(text)
        if status < 400:
            if verb == "GET" and "etag" in response_headers:
                self._etags.put(cache_key, response_headers["etag"], data)
            return Response(status, response_headers, data)
        step = next_step(
            status,
            response_headers,
            _github_message(data),
            attempt=attempt,
            now=self._clock.now(),
            route=name,
            max_inline_wait=self._max_inline_wait,
        )
        if isinstance(step, GitHubError):
            if isinstance(step, GitHubRateLimited) and step.reset_at is not None:
                with self._lock:
                    self._exhausted[identity] = step.reset_at
            raise step
        log.info("github.retry", extra={"route": name, "status": status, "wait": step.seconds})
        return step

    def _check_budget(self, identity: str, name: str) -> None:
        with self._lock:
            reset_at = self._exhausted.get(identity)
        if reset_at is None:
            return
        now = self._clock.now()
        if reset_at <= now:
            with self._lock:
                self._exhausted.pop(identity, None)
            return
        raise GitHubRateLimited(
            f"{name}: rate limit exhausted until the reset",
            route=name,
            retry_after=reset_at - now,
            reset_at=reset_at,
        )

    def _note_budget(self, identity: str, headers: Mapping[str, str]) -> None:
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset_at = _number(headers.get("x-ratelimit-reset"))
        if remaining is not None and self._on_rate_limit is not None:
            limit = _number(headers.get("x-ratelimit-limit"))
            quota = None if limit is None else int(limit)
            self._on_rate_limit(identity, int(remaining), quota, reset_at)
        if remaining != 0:
            return
        if reset_at is not None:
            with self._lock:
                self._exhausted[identity] = reset_at

    def _requester(self, identity: str) -> Requester:
        with self._lock:
            requester = self._requesters.get(identity)
            if requester is None:
                requester = self._build_requester(identity)
                self._requesters[identity] = requester
            return requester

    def _build_requester(self, identity: str) -> Requester:
        token_type = "Bearer" if identity == APP_IDENTITY else "token"
        client = Github(
            auth=_HeaderAuth(token_type, lambda: self.credential(identity)),
            base_url=self.settings.api_url,
            timeout=self._timeout,
            # Retries, Retry-After and spacing are done by GitHubClient.request.
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        return client.requester


def _decode(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"message": text[:200]}


# ---------------------------------------------------------------------------- the port


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED)] + TRUNCATED


class GitHubApi:
    """:class:`bot.ports.GitHubPort` for one installation (or the token)."""

    def __init__(self, client: GitHubClient, installation_id: int | None = None) -> None:
        self._client = client
        self.installation_id = installation_id

    @property
    def stats(self) -> RequestStats:
        return self._client.stats

    def _call(
        self,
        repo: str | None,
        verb: str,
        route: str,
        params: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> Response:
        identity = self._client.identity_for(repo, self.installation_id)
        path = {**(_split(repo) if repo else {}), **(params or {})}
        return self._client.request(identity, verb, route, path, **kwargs)

    def _pages(
        self,
        repo: str,
        route: str,
        params: Mapping[str, object] | None = None,
        *,
        query: Mapping[str, object] | None = None,
        key: str | None = None,
    ) -> Iterator[Any]:
        for page in range(1, MAX_PAGES + 1):
            answer = self._call(
                repo,
                "GET",
                route,
                params,
                query={**(query or {}), "per_page": PER_PAGE, "page": page},
            )
            items = answer.data[key] if key else answer.data
            yield from items
            if len(items) < PER_PAGE or 'rel="next"' not in answer.headers.get("link", ""):
                return

    # -- files, permissions

    def default_branch(self, repo: str) -> str:
        return str(self._call(repo, "GET", "/repos/{owner}/{repo}").data["default_branch"])

    def read_file(self, repo: str, path: str, ref: str) -> str | None:
        try:
            found = self._call(
                repo,
                "GET",
                "/repos/{owner}/{repo}/contents/{+path}",
                {"path": path},
                query={"ref": ref},
            ).data
        except GitHubNotFound:
            return None
        if not isinstance(found, Mapping) or found.get("type", "file") != "file":
            return None
        if found.get("encoding") == "base64" and found.get("content") is not None:
            return base64.b64decode(found["content"]).decode("utf-8", errors="replace")
        # Files over 1 MB come without content; the blob API has them.
        blob = self._call(
            repo, "GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}", {"file_sha": found["sha"]}
        ).data
        return base64.b64decode(blob["content"]).decode("utf-8", errors="replace")

    def permission(self, repo: str, login: str) -> str:
        data = self._call(
            repo,
            "GET",
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            {"username": login},
        ).data
        # ``permission`` maps maintain to write and triage to read; ``role_name`` does not.
        role = str(data.get("role_name") or "")
        return role if role in PERMISSION_LEVELS else str(data.get("permission") or "none")

    # -- issues and comments

    def get_issue(self, repo: str, number: int) -> IssueInfo:
        data = self._call(
            repo, "GET", "/repos/{owner}/{repo}/issues/{issue_number}", {"issue_number": number}
        ).data
        return _issue(data)

    def list_comments(self, repo: str, number: int) -> list[CommentInfo]:
        return [
            _comment(item)
            for item in self._pages(
                repo,
                "/repos/{owner}/{repo}/issues/{issue_number}/comments",
                {"issue_number": number},
            )
        ]

    def find_comment(self, repo: str, number: int, marker: str) -> CommentInfo | None:
        return next((c for c in self.list_comments(repo, number) if marker in c.body), None)

    def get_comment(self, repo: str, comment_id: int) -> CommentInfo:
        data = self._call(
            repo,
            "GET",
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            {"comment_id": comment_id},
        ).data
        return _comment(data)

    def create_comment(self, repo: str, number: int, body: str) -> CommentInfo:
        data = self._call(
            repo,
            "POST",
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            {"issue_number": number},
            body={"body": _clip(body, MAX_BODY_CHARS)},
        ).data
        return _comment(data)

    def edit_comment(self, repo: str, comment_id: int, body: str) -> CommentInfo:
        data = self._call(
            repo,
            "PATCH",
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            {"comment_id": comment_id},
            body={"body": _clip(body, MAX_BODY_CHARS)},
        ).data
        return _comment(data)

    def add_comment_reaction(self, repo: str, comment_id: int, content: str) -> None:
        self._call(
            repo,
            "POST",
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            {"comment_id": comment_id},
            body={"content": content},
        )

    def add_issue_reaction(self, repo: str, number: int, content: str) -> None:
        self._call(
            repo,
            "POST",
            "/repos/{owner}/{repo}/issues/{issue_number}/reactions",
            {"issue_number": number},
            body={"content": content},
        )

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        self._call(
            repo,
            "POST",
            "/repos/{owner}/{repo}/issues/{issue_number}/labels",
            {"issue_number": number},
            body={"labels": list(labels)},
        )

    def remove_label(self, repo: str, number: int, label: str) -> None:
        with contextlib.suppress(GitHubNotFound):
            self._call(
                repo,
                "DELETE",
                "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
                {"issue_number": number, "name": label},
            )

    # -- pull requests

    def get_pull(self, repo: str, number: int) -> PullInfo:
        data = self._call(
            repo, "GET", "/repos/{owner}/{repo}/pulls/{pull_number}", {"pull_number": number}
        ).data
        return _pull(data)

    def pull_files(self, repo: str, number: int) -> list[FileChange]:
        return [
            FileChange(
                filename=item["filename"],
                status=item["status"],
                patch=item.get("patch"),
                previous_filename=item.get("previous_filename"),
            )
            for item in self._pages(
                repo, "/repos/{owner}/{repo}/pulls/{pull_number}/files", {"pull_number": number}
            )
        ]

    def create_pull(
        self, repo: str, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullInfo:
        data = self._call(
            repo,
            "POST",
            "/repos/{owner}/{repo}/pulls",
            body={
                "title": title,
                "body": _clip(body, MAX_BODY_CHARS),
                "head": head,
                "base": base,
                "draft": draft,
            },
        ).data
        return _pull(data)

    def find_open_pull(self, repo: str, head_ref: str) -> PullInfo | None:
        owner = _split(repo)["owner"]
        found = self._call(
            repo,
            "GET",
            "/repos/{owner}/{repo}/pulls",
            query={"state": "open", "head": f"{owner}:{head_ref}", "per_page": PER_PAGE},
        ).data
        return _pull(found[0]) if found else None

    def find_pull(self, repo: str, head_ref: str, base_ref: str | None = None) -> PullInfo | None:
        owner = _split(repo)["owner"]
        query: dict[str, object] = {"state": "all", "head": f"{owner}:{head_ref}"}
        if base_ref is not None:
            query["base"] = base_ref
        found = self._call(
            repo, "GET", "/repos/{owner}/{repo}/pulls", query={**query, "per_page": PER_PAGE}
        ).data
        if not found:
            return None
        newest = max(found, key=lambda item: int(item["number"]))
        return _pull(newest)

    def update_pull(
        self,
        repo: str,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: str | None = None,
    ) -> PullInfo:
        changes = {"title": title, "body": _clip(body, MAX_BODY_CHARS), "state": state}
        data = self._call(
            repo,
            "PATCH",
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            {"pull_number": number},
            body={key: value for key, value in changes.items() if value is not None},
        ).data
        return _pull(data)

    def merge_pull(self, repo: str, number: int, *, sha: str, title: str | None = None) -> str:
        body: dict[str, Any] = {"sha": sha, "merge_method": "merge"}
        if title is not None:
            body["commit_title"] = title
        data = self._call(
            repo,
            "PUT",
            "/repos/{owner}/{repo}/pulls/{pull_number}/merge",
            {"pull_number": number},
            body=body,
        ).data
        return str(data["sha"])

    def approvals(self, repo: str, number: int) -> tuple[str, ...]:
        latest: dict[str, str] = {}
        for review in self._pages(
            repo, "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", {"pull_number": number}
        ):
            login, _ = _login(review.get("user"))
            state = str(review.get("state") or "")
            if state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[login] = state
        return tuple(sorted(login for login, state in latest.items() if state == "APPROVED"))

    def add_assignees(self, repo: str, number: int, logins: Sequence[str]) -> None:
        self._call(
            repo,
            "POST",
            "/repos/{owner}/{repo}/issues/{issue_number}/assignees",
            {"issue_number": number},
            body={"assignees": list(logins)},
        )

    def commit_statuses(self, repo: str, ref: str) -> dict[str, str]:
        latest: dict[str, str] = {}
        for item in self._pages(repo, "/repos/{owner}/{repo}/commits/{ref}/statuses", {"ref": ref}):
            latest.setdefault(str(item["context"]), str(item["state"]))  # newest first
        return latest

    def commit_sha(self, repo: str, ref: str) -> str | None:
        try:
            data = self._call(repo, "GET", "/repos/{owner}/{repo}/commits/{ref}", {"ref": ref}).data
        except (GitHubNotFound, GitHubValidationError):
            return None
        return str(data["sha"])

    # -- branches

    def branch_sha(self, repo: str, branch: str) -> str | None:
        try:
            data = self._call(
                repo, "GET", "/repos/{owner}/{repo}/git/ref/{+ref}", {"ref": f"heads/{branch}"}
            ).data
        except GitHubNotFound:
            return None
        return str(data["object"]["sha"])

    def create_branch(self, repo: str, branch: str, sha: str) -> None:
        self._call(
            repo,
            "POST",
            "/repos/{owner}/{repo}/git/refs",
            body={"ref": f"refs/heads/{branch}", "sha": sha},
        )

    def delete_branch(self, repo: str, branch: str) -> None:
        with contextlib.suppress(GitHubNotFound, GitHubValidationError):
            self._call(
                repo, "DELETE", "/repos/{owner}/{repo}/git/refs/{+ref}", {"ref": f"heads/{branch}"}
            )

    # -- checks and statuses

    def create_check_run(
        self,
        repo: str,
        head_sha: str,
        name: str,
        *,
        status: str = "queued",
        external_id: str | None = None,
        output: CheckOutput | None = None,
        annotations: Sequence[Annotation] = (),
        conclusion: str | None = None,
        details_url: str | None = None,
    ) -> CheckRunInfo:
        first, rest = _first_batch(annotations, output)
        body: dict[str, Any] = {"name": name, "head_sha": head_sha}
        body.update(_run_fields(status, conclusion, output, first))
        if external_id is not None:
            body["external_id"] = external_id
        if details_url is not None:
            body["details_url"] = details_url
        run = _check_run(
            self._call(repo, "POST", "/repos/{owner}/{repo}/check-runs", body=body).data
        )
        return self._append_annotations(repo, run, output, rest)

    def update_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        output: CheckOutput | None = None,
        annotations: Sequence[Annotation] = (),
    ) -> CheckRunInfo:
        first, rest = _first_batch(annotations, output)
        run = self._patch_run(repo, check_run_id, _run_fields(status, conclusion, output, first))
        return self._append_annotations(repo, run, output, rest)

    def _patch_run(self, repo: str, check_run_id: int, body: Mapping[str, Any]) -> CheckRunInfo:
        data = self._call(
            repo,
            "PATCH",
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
            {"check_run_id": check_run_id},
            body=dict(body),
        ).data
        return _check_run(data)

    def _append_annotations(
        self,
        repo: str,
        run: CheckRunInfo,
        output: CheckOutput | None,
        rest: Sequence[Annotation],
    ) -> CheckRunInfo:
        # GitHub appends annotations sent in later updates to the ones already there.
        for start in range(0, len(rest), ANNOTATIONS_PER_REQUEST):
            batch = rest[start : start + ANNOTATIONS_PER_REQUEST]
            run = self._patch_run(repo, run.id, {"output": _output(output, batch)})
        return run

    # -- reviews

    def list_reviews(self, repo: str, number: int) -> list[ReviewInfo]:
        return [
            _review(item)
            for item in self._pages(
                repo, "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", {"pull_number": number}
            )
        ]

    def create_review(
        self,
        repo: str,
        number: int,
        *,
        commit_id: str,
        body: str,
        event: str,
        comments: Sequence[Mapping[str, object]],
    ) -> ReviewInfo:
        data = self._call(
            repo,
            "POST",
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
            {"pull_number": number},
            body={
                "commit_id": commit_id,
                "body": _clip(body, MAX_BODY_CHARS),
                "event": event,
                "comments": [
                    {**comment, "body": _clip(str(comment["body"]), MAX_BODY_CHARS)}
                    for comment in comments
                ],
            },
        ).data
        return _review(data)

    def list_review_comments(self, repo: str, number: int) -> list[ReviewCommentInfo]:
        return [
            _review_comment(item)
            for item in self._pages(
                repo, "/repos/{owner}/{repo}/pulls/{pull_number}/comments", {"pull_number": number}
            )
        ]

    def create_file_comment(
        self, repo: str, number: int, *, commit_id: str, path: str, body: str
    ) -> ReviewCommentInfo:
        data = self._call(
            repo,
            "POST",
            "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
            {"pull_number": number},
            body={
                "commit_id": commit_id,
                "path": path,
                "subject_type": "file",
                "body": _clip(body, MAX_BODY_CHARS),
            },
        ).data
        return _review_comment(data)

    def reply_review_comment(
        self, repo: str, number: int, comment_id: int, body: str
    ) -> ReviewCommentInfo:
        data = self._call(
            repo,
            "POST",
            "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
            {"pull_number": number, "comment_id": comment_id},
            body={"body": _clip(body, MAX_BODY_CHARS)},
        ).data
        return _review_comment(data)

    def list_check_runs(self, repo: str, ref: str, name: str | None = None) -> list[CheckRunInfo]:
        query = {"check_name": name} if name else None
        return [
            _check_run(item)
            for item in self._pages(
                repo,
                "/repos/{owner}/{repo}/commits/{ref}/check-runs",
                {"ref": ref},
                query=query,
                key="check_runs",
            )
        ]

    def create_status(
        self,
        repo: str,
        sha: str,
        *,
        state: str,
        context: str,
        description: str = "",
        target_url: str | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "state": state,
            "context": context,
            "description": description[:MAX_STATUS_DESCRIPTION],
        }
        if target_url:
            body["target_url"] = target_url
        self._call(repo, "POST", "/repos/{owner}/{repo}/statuses/{sha}", {"sha": sha}, body=body)

    # -- git and App housekeeping

    def git_credentials(self, repo: str) -> tuple[str, str]:
        identity = self._client.identity_for(repo, self.installation_id)
        return GIT_USERNAME, self._client.credential(identity)

    def list_hook_deliveries(self, per_page: int = 100) -> list[HookDelivery]:
        data = self._client.request(
            self._app_identity(), "GET", "/app/hook/deliveries", query={"per_page": per_page}
        ).data
        return [_delivery(item) for item in data]

    def redeliver(self, delivery_id: int) -> None:
        self._client.request(
            self._app_identity(),
            "POST",
            "/app/hook/deliveries/{delivery_id}/attempts",
            {"delivery_id": delivery_id},
        )

    # -- the whole recent delivery log (for bot/deliveries.py; see HookDeliveryLog)

    def hook_deliveries_since(self, since: float) -> list[HookDelivery]:
        """Deliveries at or after ``since`` (epoch seconds), newest first, every page.

        GET /app/hook/deliveries pages by cursor: the ``Link`` header's next URL carries it.
        """
        found: list[HookDelivery] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            query: dict[str, object] = {"per_page": PER_PAGE}
            if cursor:
                query["cursor"] = cursor
            answer = self._client.request(
                self._app_identity(), "GET", "/app/hook/deliveries", query=query
            )
            page = [_delivery(item) for item in answer.data]
            found += [d for d in page if _delivered_epoch(d) >= since]
            cursor = _next_cursor(answer.headers.get("link", ""))
            if cursor is None or not page or _delivered_epoch(page[-1]) < since:
                break
        return found

    def _app_identity(self) -> str:
        if self._client.settings.auth_mode is not AuthMode.APP:
            raise SettingsError("TECHLEAD_APP_ID", "webhook deliveries need GitHub App credentials")
        return APP_IDENTITY


# ---------------------------------------------------------------------------- JSON -> values


def _login(user: Any) -> tuple[str, str]:
    if not isinstance(user, Mapping):
        return "ghost", "User"
    return str(user.get("login") or "ghost"), str(user.get("type") or "User")


def _issue(data: Mapping[str, Any]) -> IssueInfo:
    login, kind = _login(data.get("user"))
    return IssueInfo(
        number=int(data["number"]),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        state=str(data.get("state") or "open"),
        labels=tuple(
            str(label["name"] if isinstance(label, Mapping) else label)
            for label in data.get("labels") or []
        ),
        author_login=login,
        author_type=kind,
        is_pull_request="pull_request" in data and data["pull_request"] is not None,
    )


def _comment(data: Mapping[str, Any]) -> CommentInfo:
    login, kind = _login(data.get("user"))
    return CommentInfo(
        id=int(data["id"]),
        body=str(data.get("body") or ""),
        author_login=login,
        author_type=kind,
        html_url=str(data.get("html_url") or ""),
    )


def _review(data: Mapping[str, Any]) -> ReviewInfo:
    login, _ = _login(data.get("user"))
    return ReviewInfo(
        id=int(data["id"]),
        body=str(data.get("body") or ""),
        state=str(data.get("state") or ""),
        commit_id=str(data.get("commit_id") or ""),
        author_login=login,
    )


def _review_comment(data: Mapping[str, Any]) -> ReviewCommentInfo:
    login, _ = _login(data.get("user"))
    reply_to = data.get("in_reply_to_id")
    return ReviewCommentInfo(
        id=int(data["id"]),
        body=str(data.get("body") or ""),
        author_login=login,
        in_reply_to=int(reply_to) if isinstance(reply_to, int) else None,
        path=str(data.get("path") or ""),
    )


def _pull(data: Mapping[str, Any]) -> PullInfo:
    head, base = data["head"], data["base"]
    head_repo = (head.get("repo") or {}).get("full_name") or ""
    base_repo = (base.get("repo") or {}).get("full_name") or ""
    login, _ = _login(data.get("user"))
    return PullInfo(
        number=int(data["number"]),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        state=str(data.get("state") or "open"),
        draft=bool(data.get("draft")),
        head_sha=str(head["sha"]),
        head_ref=str(head["ref"]),
        head_repo=head_repo,
        base_ref=str(base["ref"]),
        base_sha=str(base["sha"]),
        # A deleted fork has no head repository: treat it as a fork (untrusted).
        is_fork=head_repo.lower() != base_repo.lower() or not head_repo,
        author_login=login,
        html_url=str(data.get("html_url") or ""),
        merged=bool(data.get("merged") or data.get("merged_at")),
        labels=tuple(
            str(label.get("name"))
            for label in data.get("labels") or ()
            if isinstance(label, Mapping) and label.get("name")
        ),
        maintainer_can_modify=bool(data.get("maintainer_can_modify")),
    )


def _check_run(data: Mapping[str, Any]) -> CheckRunInfo:
    return CheckRunInfo(
        id=int(data["id"]),
        name=str(data["name"]),
        head_sha=str(data["head_sha"]),
        status=str(data["status"]),
        conclusion=data.get("conclusion"),
        external_id=data.get("external_id") or None,
        title=str((data.get("output") or {}).get("title") or ""),
        summary=str((data.get("output") or {}).get("summary") or ""),
    )


def _delivery(data: Mapping[str, Any]) -> HookDelivery:
    return HookDelivery(
        id=int(data["id"]),
        guid=str(data["guid"]),
        event=str(data["event"]),
        action=data.get("action"),
        status_code=int(data.get("status_code") or 0),
        redelivery=bool(data.get("redelivery")),
        delivered_at=str(data.get("delivered_at") or ""),
    )


def _delivered_epoch(delivery: HookDelivery) -> float:
    """When GitHub attempted it (epoch); 0 when the log's timestamp is unreadable."""
    try:
        return datetime.fromisoformat(delivery.delivered_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


_NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="next"')


def _next_cursor(link: str) -> str | None:
    match = _NEXT_LINK.search(link)
    if match is None:
        return None
    values = parse_qs(urlsplit(match.group(1)).query).get("cursor")
    return values[0] if values else None


def _first_batch(
    annotations: Sequence[Annotation], output: CheckOutput | None
) -> tuple[Sequence[Annotation], Sequence[Annotation]]:
    if annotations and output is None:
        raise ValueError("annotations need an output (title and summary) to attach to")
    return annotations[:ANNOTATIONS_PER_REQUEST], annotations[ANNOTATIONS_PER_REQUEST:]


def _run_fields(
    status: str | None,
    conclusion: str | None,
    output: CheckOutput | None,
    annotations: Sequence[Annotation],
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if conclusion is not None:
        # A conclusion completes the run; GitHub rejects one with another status.
        fields.update(status="completed", conclusion=conclusion)
    elif status is not None:
        fields["status"] = status
    if output is not None:
        fields["output"] = _output(output, annotations)
    return fields


def _output(output: CheckOutput | None, annotations: Sequence[Annotation]) -> dict[str, Any]:
    assert output is not None
    body: dict[str, Any] = {
        "title": _clip(output.title, MAX_ANNOTATION_TITLE),
        "summary": _clip(output.summary, MAX_OUTPUT_CHARS),
    }
    if output.text is not None:
        body["text"] = _clip(output.text, MAX_OUTPUT_CHARS)
    if annotations:
        body["annotations"] = [_annotation(item) for item in annotations]
    return body


def _annotation(item: Annotation) -> dict[str, Any]:
    body: dict[str, Any] = {
        "path": item.path,
        "start_line": item.start_line,
        "end_line": item.end_line,
        "annotation_level": item.annotation_level,
        "message": _clip(item.message, MAX_ANNOTATION_MESSAGE),
    }
    if item.title:
        body["title"] = _clip(item.title, MAX_ANNOTATION_TITLE)
    # Columns are only allowed on single-line annotations.
    if item.start_line == item.end_line:
        if item.start_column is not None:
            body["start_column"] = item.start_column
        if item.end_column is not None:
            body["end_column"] = item.end_column
    return body
