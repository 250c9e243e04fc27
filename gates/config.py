"""The quality-gate configuration model (``gates:`` in ``.github/techlead.yml``).

Every default value lives in ``config/gates.yml`` (under the top-level ``gates:`` key);
these models only describe and validate. Unknown keys are rejected.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.defaults import config_file
from bot.errors import RepoConfigError

DEFAULTS_FILE = "gates.yml"
SECTION = "gates"


class GateLevel(enum.StrEnum):
    """The five quality-gate levels, cheapest first."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"
    L5 = "L5"


class Severity(enum.StrEnum):
    """How serious a finding is; ordered (``info`` < ``low`` < ... < ``critical``)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    # str's alphabetical comparisons would be wrong ("high" < "low"): compare by rank.
    def __lt__(self, other: object) -> bool:
        return self.rank < _rank(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= _rank(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > _rank(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= _rank(other)


_SEVERITY_ORDER = list(Severity)


def _rank(other: object) -> int:
    if not isinstance(other, Severity):
        raise TypeError(f"cannot compare a severity with {type(other).__name__}")
    return other.rank


class Confidence(enum.StrEnum):
    """How sure a tool is about a finding (bandit, zizmor)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return list(Confidence).index(self)


class FilterMode(enum.StrEnum):
    """Which findings count, as reviewdog's ``-filter-mode`` defines them."""

    ADDED = "added"  # only lines the pull request adds
    DIFF_CONTEXT = "diff_context"  # any line inside a diff hunk
    FILE = "file"  # anywhere in a file the pull request changes
    NOFILTER = "nofilter"  # everything the tools report


class _Frozen(BaseModel):
    # ``.nan`` would pass every bound (each comparison is false): timeouts must be finite.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class GateConfig(_Frozen):
    """Settings every gate has.

    ``fail_on``: the gate fails when a new finding is at or above this severity.
    ``required: false`` makes the gate advisory: it completes neutral instead of failing.
    """

    enabled: bool = Field(description="Run this gate at all.")
    required: bool = Field(
        description="false: advisory; findings complete the check neutral, never failing."
    )
    fail_on: Severity = Field(description="Fail when a new finding is at or above this severity.")
    timeout_seconds: float = Field(
        gt=0,
        le=3600,
        description="The gate is stopped, and fails saying so, after this many seconds.",
    )
    filter_mode: FilterMode = Field(
        description="Which findings count: added, diff_context, file or nofilter (as reviewdog)."
    )


class LintConfig(GateConfig):
    """L1 lint: ruff check, and ruff format when ``format`` is on."""

    format: bool = Field(description="Also report code that 'ruff format' would change.")


class SecurityConfig(GateConfig):
    """L5 security: bandit, secret detection, workflow audit, dependency audit."""

    bandit: bool = Field(description="Run bandit on changed Python files.")
    # bandit test ids never reported (e.g. B101 assert, B404 "import subprocess").
    bandit_skips: tuple[str, ...] = Field(
        description="bandit test ids never reported (e.g. B101 assert)."
    )
    # Findings a tool is less sure about than this are dropped (bandit and zizmor).
    min_confidence: Confidence = Field(
        description="Drop bandit and zizmor findings the tool is less sure about than this."
    )
    secrets: bool = Field(description="Look for leaked secrets on added lines (detect-secrets).")
    # detect-secrets' high-entropy string plugins: more leaks caught, more noise.
    secrets_entropy: bool = Field(
        description="Also use detect-secrets' high-entropy plugins: more leaks caught, more noise."
    )
    workflows: bool = Field(description="Audit GitHub Actions workflows (zizmor, offline).")
    dependencies: bool = Field(description="Look for known-vulnerable dependencies (pip-audit).")
    # The vulnerability database is a network service: give up quickly without it.
    audit_timeout_seconds: float = Field(
        gt=0,
        le=600,
        description="Seconds to wait for the online vulnerability database before skipping.",
    )


class ContractsConfig(GateConfig):
    """L2 contracts: API descriptions validated, and compared with the base for breaks.

    Files are found among the changed ones by these globs and, with ``sniff``, by their
    content (an ``openapi:``/``swagger:`` key, a JSON Schema ``$schema``).
    """

    openapi: tuple[str, ...] = Field(description="Globs of OpenAPI (2.0 to 3.1) documents.")
    json_schema: tuple[str, ...] = Field(description="Globs of JSON Schema documents.")
    graphql: tuple[str, ...] = Field(description="Globs of GraphQL schemas.")
    protobuf: tuple[str, ...] = Field(
        description="Globs of protobuf files (compared with buf when it is on PATH)."
    )
    sniff: bool = Field(
        description="Also find contracts by content: an openapi:/swagger: key, a $schema."
    )


class BenchmarkStatistic(enum.StrEnum):
    """Which number of a benchmark run stands for that run."""

    MEDIAN = "median"
    MIN = "min"
    MEAN = "mean"


class PerformanceConfig(GateConfig):
    """L4 performance: a benchmark command run on base and head, compared statistically.

    ``command`` (empty: not configured) writes benchmark JSON to ``{output}``; it runs
    ``repeats`` times per side, interleaved in random order, after ``warmup`` runs.
    A benchmark fails only when it is slower by more than ``threshold`` (0.1 = 10%) with
    Mann-Whitney p < ``alpha`` and a bootstrap interval past the threshold, twice.
    """

    command: str = Field(
        description="Benchmark command writing JSON to {output}; empty: not configured."
    )
    repeats: int = Field(ge=3, le=200, description="Runs per side, each a fresh process.")
    warmup: int = Field(ge=0, le=20, description="Discarded warm-up runs per side.")
    threshold: float = Field(
        gt=0, le=10, description="Fail only past this slowdown (0.1 = 10% slower)."
    )
    alpha: float = Field(gt=0, lt=0.5, description="Mann-Whitney U significance level.")
    confidence: float = Field(
        gt=0.5, lt=1, description="Confidence level of the bootstrap interval."
    )
    resamples: int = Field(ge=100, le=100_000, description="Bootstrap resamples.")
    confirm: bool = Field(
        description="Measure a significant slowdown again before failing the check."
    )
    statistic: BenchmarkStatistic = Field(
        description="What stands for one run of a benchmark: median, min or mean."
    )
    seed: int | None = Field(
        None,
        description="Seed of the run order and the bootstrap; unset: derived from the head commit.",
    )


class IntegrationConfig(GateConfig):
    """L3 integration: the repository's tests, run on the head inside a jail.

    ``command`` (empty: pytest when the repository has tests/ or pytest settings) is split
    like a shell would, without a shell; ``{python}`` stands for ``python`` (empty:
    TechLead's interpreter). A command that is not pytest says where it writes its JUnit
    report in ``junit_xml``. The limits apply to each process of the run. ``install``
    (empty: none) runs first, in the jail with the network on, with ``{python}`` the
    interpreter of a fresh virtualenv for the tree; the tests then run with it.
    """

    command: str = Field(
        description="Test command (no shell); empty: {python} -m pytest when there are tests."
    )
    junit_xml: str = Field(
        description="Where a command that is not pytest writes its JUnit XML report."
    )
    install: str = Field(
        description="Install command, run first in a fresh virtualenv with network; empty: none."
    )
    python: str = Field(description="The interpreter the tests run with; empty: TechLead's own.")
    compare_base: bool = Field(
        description="Re-run failing tests on the base revision to tell pre-existing failures."
    )
    require_sandbox: bool = Field(
        description="Never run without the bubblewrap jail (the check completes neutral instead)."
    )
    cpu_seconds: int = Field(
        ge=1, le=86_400, description="CPU seconds each process of the run may use."
    )
    memory_mb: int = Field(
        ge=64, le=1_048_576, description="Memory (address space) each process may use, in MiB."
    )
    file_size_mb: int = Field(
        ge=1, le=1_048_576, description="Largest file a process may write, in MiB."
    )


class SelectionConfig(_Frozen):
    """Which pull requests get gates (``gates.pull_requests``).

    ``drafts``: gate draft pull requests too (off: they are gated once marked ready for
    review). ``bots``: gate pull requests opened by bots, TechLead's own included.
    ``base_branches``: only pull requests into these branches (empty: every branch).
    """

    drafts: bool = Field(
        description="Gate draft pull requests too; false: gated once marked ready for review."
    )
    bots: bool = Field(description="Gate pull requests opened by bots, TechLead's own included.")
    base_branches: tuple[str, ...] = Field(
        description="Only pull requests into these branches; empty: every branch."
    )


class GatesConfig(_Frozen):
    """All quality gates. ``baseline`` is read from the base revision, never the head."""

    baseline: str = Field(
        min_length=1,
        description="File of accepted findings' fingerprints, read from the base branch only.",
    )
    pull_requests: SelectionConfig = Field(description="Which pull requests get gates.")
    lint: LintConfig = Field(description="L1 lint: ruff check and ruff format.")
    contracts: ContractsConfig = Field(
        description="L2 contracts: API descriptions validated and compared with the base."
    )
    integration: IntegrationConfig = Field(
        description="L3 integration: the repository's tests, run on the head in a jail."
    )
    performance: PerformanceConfig = Field(
        description="L4 performance: a benchmark command compared between base and head."
    )
    security: SecurityConfig = Field(
        description="L5 security: bandit, secrets, workflow and dependency audits."
    )

    def for_level(self, level: GateLevel) -> GateConfig | None:
        """The settings of one level, or None when no gate of that level is configured."""
        name = LEVEL_KEYS.get(level)
        return getattr(self, name) if name else None

    def with_overrides(self, overrides: Mapping[str, Any]) -> GatesConfig:
        """A copy with ``overrides`` deep-merged over it (mappings merge key by key)."""
        return parse_gates_config(overrides, base=self.model_dump(mode="json"))


# The config key of each level that has a gate; a new gate adds its key here.
LEVEL_KEYS: dict[GateLevel, str] = {
    GateLevel.L1: "lint",
    GateLevel.L2: "contracts",
    GateLevel.L3: "integration",
    GateLevel.L4: "performance",
    GateLevel.L5: "security",
}


def parse_gates_config(
    data: Mapping[str, Any] | None, *, base: Mapping[str, Any] | None = None
) -> GatesConfig:
    """Validate ``data`` deep-merged over ``base`` (the shipped defaults when None)."""
    merged = _deep_merge(base if base is not None else _default_data(), data or {})
    try:
        return GatesConfig.model_validate(merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join([SECTION, *(str(part) for part in error["loc"])])
        raise RepoConfigError(error["msg"], key=key) from exc


def load_defaults(path: Path | None = None) -> GatesConfig:
    """The shipped defaults from ``config/gates.yml`` (or ``path``), validated."""
    return parse_gates_config({}, base=_default_data(path))


def _default_data(path: Path | None = None) -> dict[str, Any]:
    source = path or config_file(DEFAULTS_FILE)
    text = source.read_text(encoding="utf-8")
    # libyaml's safe loader when PyYAML has it (25x faster): every gates run reads this.
    fast = yaml.__with_libyaml__
    document = (yaml.load(text, Loader=yaml.CSafeLoader) if fast else yaml.safe_load(text)) or {}
    section = document.get(SECTION) if isinstance(document, dict) else None
    if not isinstance(section, dict):
        raise RepoConfigError(f"needs a '{SECTION}:' mapping", path=str(source))
    return section


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in override.items():
        if value is None and key in result:
            continue
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result
