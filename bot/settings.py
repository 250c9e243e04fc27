"""Process settings, read once from an injected environment mapping and validated."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from bot.errors import SettingsError
from bot.jobs import DAY, DEFAULT_DEAD_RETENTION, DEFAULT_RETENTION, MIN_RETENTION, Retention

E = TypeVar("E", bound=enum.StrEnum)

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DATA_DIR = ".techlead"
# GitHub does not deliver payloads over 25 MB; nothing legitimate is larger.
DEFAULT_MAX_PAYLOAD_BYTES = 25 * 1024 * 1024
# GitHub's guidance for content-creating requests: serialise them, about 1 s apart.
# https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api
DEFAULT_WRITE_INTERVAL = 1.0
# The workspace's mirror cache (evicted least-recently-used beyond this) and git's
# network time limit per command.
DEFAULT_GIT_CACHE_MAX_BYTES = 5 * 1024**3
DEFAULT_GIT_TIMEOUT = 600.0
# CPU seconds one job may use in a worker process before the kernel stops it (0: no
# limit). Research and planning of a large repository take seconds; minutes of CPU
# mean a runaway parser, not work.
DEFAULT_JOB_CPU_SECONDS = 300.0
# An OpenAI-compatible model endpoint (optional planner, llm executor): seconds one
# request may take, and how often a 429 or 5xx is retried before giving up.
DEFAULT_LLM_TIMEOUT = 60.0
DEFAULT_LLM_MAX_RETRIES = 3
QUEUE_URL_SCHEMES = ("redis://", "rediss://", "unix://")


class AuthMode(enum.StrEnum):
    APP = "app"
    TOKEN = "token"  # noqa: S105 - a mode name, not a secret
    NONE = "none"


class LogFormat(enum.StrEnum):
    JSON = "json"
    CONSOLE = "console"


class BackgroundPriority(enum.StrEnum):
    """How far below the webhook answers jobs and journal loading run (Linux)."""

    IDLE = "idle"  # SCHED_IDLE: only on CPU time nothing else at normal priority wants
    LOW = "low"  # only nice: a small share even when the answers want every core


@dataclass(frozen=True)
class Variable:
    """One environment variable TechLead reads, as the configuration reference lists it."""

    name: str
    default: str
    meaning: str
    secret: bool = False


# Every variable Settings.from_env reads (a test holds the two together), and the few
# read elsewhere; docs/configuration.md is generated from this table.
ENVIRONMENT: tuple[Variable, ...] = (
    Variable(
        "TECHLEAD_WEBHOOK_SECRET",
        "",
        "Webhook secret; comma-separated to rotate (every one is accepted). Needed by serve.",
        secret=True,
    ),
    Variable("TECHLEAD_APP_ID", "", "GitHub App id: App mode (needs a private key)."),
    Variable(
        "TECHLEAD_PRIVATE_KEY",
        "",
        "The App's PEM private key (escaped `\\n` newlines are accepted).",
        secret=True,
    ),
    Variable("TECHLEAD_PRIVATE_KEY_PATH", "", "A file holding the App's private key (not both)."),
    Variable(
        "TECHLEAD_GITHUB_TOKEN",
        "",
        "Token mode (no App): check runs become commit statuses plus one summary comment.",
        secret=True,
    ),
    Variable(
        "TECHLEAD_GITHUB_API_URL",
        DEFAULT_API_URL,
        "GitHub's REST API; GitHub Enterprise Server: `https://HOST/api/v3`.",
    ),
    Variable("TECHLEAD_DATA_DIR", DEFAULT_DATA_DIR, "The SQLite store and the git mirror cache."),
    Variable("TECHLEAD_LOG_FORMAT", LogFormat.JSON.value, "`json` or `console` log lines."),
    Variable(
        "TECHLEAD_WRITE_INTERVAL",
        str(DEFAULT_WRITE_INTERVAL),
        "Seconds between content-creating GitHub requests per installation.",
    ),
    Variable(
        "TECHLEAD_MAX_PAYLOAD_BYTES",
        str(DEFAULT_MAX_PAYLOAD_BYTES),
        "Largest webhook body accepted (GitHub's own cap).",
    ),
    Variable(
        "TECHLEAD_BOT_LOGIN", "", "The bot's own login in token mode, so it never answers itself."
    ),
    Variable(
        "TECHLEAD_GIT_CACHE_MAX_BYTES",
        str(DEFAULT_GIT_CACHE_MAX_BYTES),
        "Bound of the git mirror cache (least recently used evicted).",
    ),
    Variable(
        "TECHLEAD_GIT_TIMEOUT",
        str(DEFAULT_GIT_TIMEOUT),
        "Seconds one git network command may take.",
    ),
    Variable(
        "TECHLEAD_JOB_CPU_SECONDS",
        str(DEFAULT_JOB_CPU_SECONDS),
        "CPU seconds one job may use in a worker process (0: no limit).",
    ),
    Variable(
        "TECHLEAD_BACKGROUND_PRIORITY",
        BackgroundPriority.IDLE.value,
        "`idle`: worker processes and the journal loader run only on CPU time the webhook "
        "answers leave (SCHED_IDLE, Linux); `low`: they only have a lower `nice`, and keep "
        "a small share of the CPU under a burst of deliveries. Use `low` on a machine shared "
        "with other busy services, where `idle` could starve them.",
    ),
    Variable(
        "TECHLEAD_LLM_BASE_URL",
        "",
        "An OpenAI-compatible endpoint for `planning.planner: llm` and `executor: llm`.",
    ),
    Variable("TECHLEAD_LLM_MODEL", "", "The model name sent to that endpoint."),
    Variable(
        "TECHLEAD_LLM_API_KEY", "", "The endpoint's key (optional for local servers).", secret=True
    ),
    Variable(
        "TECHLEAD_LLM_TIMEOUT",
        str(DEFAULT_LLM_TIMEOUT),
        "Seconds per model call, retries included.",
    ),
    Variable(
        "TECHLEAD_LLM_MAX_RETRIES",
        str(DEFAULT_LLM_MAX_RETRIES),
        "Retries of a 429 or 5xx model answer.",
    ),
    Variable(
        "TECHLEAD_QUEUE_URL",
        "",
        "`redis://`, `rediss://` or `unix://`: the job queue on Redis; unset: SQLite.",
        secret=True,
    ),
    Variable(
        "TECHLEAD_DASHBOARD_TOKEN",
        "",
        "Lets `/dashboard` answer beyond this machine (a Bearer token or `?token=`).",
        secret=True,
    ),
    Variable(
        "TECHLEAD_JOB_RETENTION_DAYS",
        f"{DEFAULT_RETENTION / DAY:g}",
        "Days finished jobs and their dedupe keys are kept; at least 4 (redeliveries: 3).",
    ),
    Variable(
        "TECHLEAD_DEAD_JOB_RETENTION_DAYS",
        f"{DEFAULT_DEAD_RETENTION / DAY:g}",
        "Days dead-lettered jobs are kept for `techlead jobs retry`; at least 4.",
    ),
    Variable(
        "TECHLEAD_PLUGINS", "", "Extra modules exposing a `router` and/or `jobs`, comma-separated."
    ),
    Variable(
        "TECHLEAD_TOOL_CACHE",
        "",
        "Where pinned ruff versions are installed; unset: `$XDG_CACHE_HOME/techlead/tools`.",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Everything TechLead reads from the environment. Secrets never appear in ``repr``."""

    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    app_id: int | None = None
    private_key: str | None = field(default=None, repr=False)
    github_token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    log_format: LogFormat = LogFormat.JSON
    write_interval: float = DEFAULT_WRITE_INTERVAL
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    bot_login: str | None = None
    git_cache_max_bytes: int = DEFAULT_GIT_CACHE_MAX_BYTES
    git_timeout: float = DEFAULT_GIT_TIMEOUT
    job_cpu_seconds: float = DEFAULT_JOB_CPU_SECONDS
    background_priority: BackgroundPriority = BackgroundPriority.IDLE
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout: float = DEFAULT_LLM_TIMEOUT
    llm_max_retries: int = DEFAULT_LLM_MAX_RETRIES
    # redis://… puts the job queue on Redis (workers on several machines); None: SQLite.
    queue_url: str | None = field(default=None, repr=False)
    # How long finished jobs are kept; workers prune older ones (``techlead jobs prune``).
    retention: Retention = field(default_factory=Retention)
    # Lets /dashboard answer beyond this machine (as a Bearer token or ?token=).
    dashboard_token: str | None = field(default=None, repr=False)

    @property
    def auth_mode(self) -> AuthMode:
        if self.app_id is not None:
            return AuthMode.APP
        if self.github_token:
            return AuthMode.TOKEN
        return AuthMode.NONE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Parse and validate; raise :class:`SettingsError` naming the bad variable."""
        app_id = _parse_app_id(env)
        private_key = _read_private_key(env)
        if app_id is not None and private_key is None:
            raise SettingsError(
                "TECHLEAD_PRIVATE_KEY",
                "App mode (TECHLEAD_APP_ID is set) needs TECHLEAD_PRIVATE_KEY "
                "or TECHLEAD_PRIVATE_KEY_PATH",
            )
        if private_key is not None and app_id is None:
            raise SettingsError("TECHLEAD_APP_ID", "a private key is set but no App id")
        return cls(
            webhook_secrets=_parse_secrets(env.get("TECHLEAD_WEBHOOK_SECRET", "")),
            app_id=app_id,
            private_key=private_key,
            github_token=env.get("TECHLEAD_GITHUB_TOKEN") or None,
            api_url=_parse_api_url(env.get("TECHLEAD_GITHUB_API_URL", DEFAULT_API_URL)),
            data_dir=Path(env.get("TECHLEAD_DATA_DIR") or DEFAULT_DATA_DIR),
            log_format=_parse_enum(env, "TECHLEAD_LOG_FORMAT", LogFormat, LogFormat.JSON),
            write_interval=_parse_float(env, "TECHLEAD_WRITE_INTERVAL", DEFAULT_WRITE_INTERVAL),
            max_payload_bytes=int(
                _parse_float(env, "TECHLEAD_MAX_PAYLOAD_BYTES", DEFAULT_MAX_PAYLOAD_BYTES)
            ),
            bot_login=env.get("TECHLEAD_BOT_LOGIN") or None,
            git_cache_max_bytes=int(
                _parse_float(env, "TECHLEAD_GIT_CACHE_MAX_BYTES", DEFAULT_GIT_CACHE_MAX_BYTES)
            ),
            git_timeout=_parse_float(env, "TECHLEAD_GIT_TIMEOUT", DEFAULT_GIT_TIMEOUT),
            job_cpu_seconds=_parse_float(env, "TECHLEAD_JOB_CPU_SECONDS", DEFAULT_JOB_CPU_SECONDS),
            background_priority=_parse_enum(
                env, "TECHLEAD_BACKGROUND_PRIORITY", BackgroundPriority, BackgroundPriority.IDLE
            ),
            llm_base_url=_parse_llm_url(env.get("TECHLEAD_LLM_BASE_URL", "")),
            llm_model=env.get("TECHLEAD_LLM_MODEL", "").strip() or None,
            llm_api_key=env.get("TECHLEAD_LLM_API_KEY", "").strip() or None,
            llm_timeout=_parse_float(env, "TECHLEAD_LLM_TIMEOUT", DEFAULT_LLM_TIMEOUT),
            llm_max_retries=int(
                _parse_float(env, "TECHLEAD_LLM_MAX_RETRIES", DEFAULT_LLM_MAX_RETRIES)
            ),
            queue_url=_parse_queue_url(env.get("TECHLEAD_QUEUE_URL", "")),
            retention=Retention(
                done=_parse_days(env, "TECHLEAD_JOB_RETENTION_DAYS", DEFAULT_RETENTION),
                dead=_parse_days(env, "TECHLEAD_DEAD_JOB_RETENTION_DAYS", DEFAULT_DEAD_RETENTION),
            ),
            dashboard_token=env.get("TECHLEAD_DASHBOARD_TOKEN", "").strip() or None,
        )

    @property
    def llm_configured(self) -> bool:
        """A model endpoint and a model name are set (the key is optional: local servers)."""
        return bool(self.llm_base_url and self.llm_model)

    def require_webhook_secret(self) -> None:
        if not self.webhook_secrets:
            raise SettingsError(
                "TECHLEAD_WEBHOOK_SECRET", "required to accept webhooks (comma-separated)"
            )

    def require_github(self) -> None:
        if self.auth_mode is AuthMode.NONE:
            raise SettingsError(
                "TECHLEAD_GITHUB_TOKEN",
                "set TECHLEAD_GITHUB_TOKEN (token mode) or TECHLEAD_APP_ID with "
                "TECHLEAD_PRIVATE_KEY or TECHLEAD_PRIVATE_KEY_PATH (App mode)",
            )


def _parse_secrets(raw: str) -> tuple[str, ...]:
    # Several secrets at once allow rotation: the new one is added, then the old removed.
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _parse_app_id(env: Mapping[str, str]) -> int | None:
    raw = env.get("TECHLEAD_APP_ID", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise SettingsError("TECHLEAD_APP_ID", f"must be a number, got {raw!r}")
    return int(raw)


def _read_private_key(env: Mapping[str, str]) -> str | None:
    inline = env.get("TECHLEAD_PRIVATE_KEY", "").strip()
    path = env.get("TECHLEAD_PRIVATE_KEY_PATH", "").strip()
    if inline and path:
        raise SettingsError(
            "TECHLEAD_PRIVATE_KEY_PATH", "set either TECHLEAD_PRIVATE_KEY or this, not both"
        )
    if path:
        try:
            inline = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(
                "TECHLEAD_PRIVATE_KEY_PATH", f"cannot read {path}: {exc.strerror}"
            ) from exc
        variable = "TECHLEAD_PRIVATE_KEY_PATH"
    else:
        variable = "TECHLEAD_PRIVATE_KEY"
        # Keys passed through CI secrets often have their newlines escaped.
        inline = inline.replace("\\n", "\n").strip()
    if not inline:
        return None
    if "PRIVATE KEY-----" not in inline:
        raise SettingsError(variable, "is not a PEM private key (no 'PRIVATE KEY' block)")
    return inline


def _parse_api_url(raw: str) -> str:
    url = raw.strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError("TECHLEAD_GITHUB_API_URL", f"must be an http(s) URL, got {raw!r}")
    if parsed.username or parsed.password:
        raise SettingsError("TECHLEAD_GITHUB_API_URL", "must not carry credentials")
    return url


def _parse_llm_url(raw: str) -> str | None:
    url = raw.strip().rstrip("/")
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError("TECHLEAD_LLM_BASE_URL", f"must be an http(s) URL, got {raw!r}")
    if parsed.username or parsed.password:
        raise SettingsError("TECHLEAD_LLM_BASE_URL", "must not carry credentials (use the key)")
    return url


def _parse_days(env: Mapping[str, str], name: str, default: float) -> float:
    """A retention in days, as seconds; shorter than the redelivery window is refused."""
    seconds = _parse_float(env, name, default / DAY) * DAY
    if seconds < MIN_RETENTION:
        raise SettingsError(
            name, f"must be at least {MIN_RETENTION / DAY:g} days: GitHub redelivers for 3 days"
        )
    return seconds


def _parse_queue_url(raw: str) -> str | None:
    url = raw.strip()
    if not url:
        return None
    if not url.startswith(QUEUE_URL_SCHEMES):
        shown = url.split("@")[-1]  # never echo a password
        raise SettingsError(
            "TECHLEAD_QUEUE_URL", f"must be a redis://, rediss:// or unix:// URL, got {shown!r}"
        )
    return url


def _parse_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(name, f"must be a number, got {raw!r}") from exc
    if value < 0:
        raise SettingsError(name, f"must not be negative, got {raw!r}")
    return value


def _parse_enum(env: Mapping[str, str], name: str, kind: type[E], default: E) -> E:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        allowed = "|".join(member.value for member in kind)
        raise SettingsError(name, f"must be one of {allowed}, got {raw!r}") from exc
