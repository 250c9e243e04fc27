"""L5 · Security: bandit, leaked secrets, workflow audit and dependency audit of a change."""

from __future__ import annotations

import configparser
import contextlib
import fnmatch
import json
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from bot.errors import ToolFailed
from gates import dependencies, secrets, templates, workflows
from gates.config import Confidence, GateConfig, GateLevel, SecurityConfig, Severity
from gates.diff import ChangedFile
from gates.files import read_lines, relative
from gates.model import Finding, Scan
from gates.redact import digest, redact
from gates.revision import GateInput
from gates.tools import ToolRunner, tool_command

LEVEL = GateLevel.L5
TITLE = "Security"
BANDIT = "bandit"
PYTHON_SUFFIXES = (".py",)
# Every tool this gate may run; a gate that could not finish names them all in SARIF.
TOOLS = (BANDIT, secrets.OWN_TOOL, secrets.DETECT_SECRETS, workflows.TOOL, dependencies.TOOL)
# bandit's own settings files: [tool.bandit] in pyproject.toml, [bandit] in .bandit.
BANDIT_FILES = ("pyproject.toml", ".bandit")
# bandit's hard-coded password checks quote the password in their message.
_QUOTES_SECRET = {"B105", "B106", "B107"}
_QUOTED = re.compile(r"'([^']*)'")
_BANDIT_LEVELS = {"LOW": Severity.LOW, "MEDIUM": Severity.MEDIUM, "HIGH": Severity.HIGH}
_CONFIDENCE = {"LOW": Confidence.LOW, "MEDIUM": Confidence.MEDIUM, "HIGH": Confidence.HIGH}


@dataclass
class _Parts:
    """What the parts of the gate found, merged into one Scan."""

    head: list[Finding] = field(default_factory=list)
    base: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    tools: list[str] = field(default_factory=list)

    def scan(self, not_applicable: str | None) -> Scan:
        return Scan(
            head=tuple(self.head),
            base=tuple(self.base),
            not_applicable=not_applicable,
            notes=tuple(self.notes),
            incomplete=tuple(self.incomplete),
            secrets=frozenset(self.secrets),
            tools=tuple(self.tools),
        )


def scan(inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
    settings = config if isinstance(config, SecurityConfig) else None
    if settings is None:
        raise ToolFailed("the security gate needs its security settings")
    present = inp.changes.present()
    python = [f for f in present if f.path.endswith(PYTHON_SUFFIXES)]
    flows = workflows.changed_workflows(present) if settings.workflows else []
    deps = dependencies.dependency_files(present) if settings.dependencies else []
    jobs: dict[str, Callable[[], _Parts]] = {}
    if settings.bandit and python:
        jobs["bandit"] = lambda: _bandit(tools, inp, python, settings)
    if settings.secrets:
        jobs["secrets"] = lambda: _secrets(inp, settings.secrets_entropy)
    if flows:
        jobs["zizmor"] = lambda: _workflows(tools, inp, flows, settings.min_confidence)
    if deps:
        jobs["pip-audit"] = lambda: _dependencies(tools, inp, deps, settings)
    parts = _run_parallel(jobs)
    parts.tools = [tool for name in jobs for tool in _JOB_TOOLS[name]]
    if python or flows or deps:
        return parts.scan(None)
    reason = templates.NOTHING_FOR_SECURITY if settings.secrets else templates.NOTHING_TO_AUDIT
    return parts.scan(reason)


_JOB_TOOLS = {
    "bandit": (BANDIT,),
    "secrets": (secrets.OWN_TOOL, secrets.DETECT_SECRETS),
    "zizmor": (workflows.TOOL,),
    "pip-audit": (dependencies.TOOL,),
}


def _run_parallel(jobs: Mapping[str, Callable[[], _Parts]]) -> _Parts:
    """The parts run side by side (each is mostly a subprocess); the first error wins."""
    merged = _Parts()
    if not jobs:
        return merged
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="security") as pool:
        futures: list[Future[_Parts]] = [pool.submit(job) for job in jobs.values()]
        for future in futures:
            part = future.result()
            merged.head += part.head
            merged.base += part.base
            merged.notes += part.notes
            merged.incomplete += part.incomplete
            merged.secrets |= part.secrets
    return merged


# ---------------------------------------------------------------------------- bandit


@dataclass(frozen=True)
class BanditSettings:
    """The repository's bandit settings: tests skipped or chosen, paths excluded."""

    skips: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def excludes(self, path: str) -> bool:
        parts = PurePosixPath(path).parts
        for pattern in self.exclude:
            if path == pattern or path.startswith(pattern + "/"):
                return True
            if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern + "/*"):
                return True
            if "/" not in pattern and pattern in parts[:-1]:
                return True
        return False


def bandit_settings(root: Path) -> BanditSettings:
    """``[tool.bandit]`` of pyproject.toml and ``[bandit]`` of .bandit, merged."""
    found: dict[str, list[str]] = {"skips": [], "tests": [], "exclude": []}
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        data = {}
    tool = data.get("tool")
    section = tool.get("bandit") if isinstance(tool, dict) else None
    if isinstance(section, dict):
        for key, target in (("skips", "skips"), ("tests", "tests"), ("exclude_dirs", "exclude")):
            value = section.get(key, [])
            found[target] += [str(v) for v in value] if isinstance(value, list) else []
    parser = configparser.ConfigParser(interpolation=None)
    with contextlib.suppress(configparser.Error, UnicodeDecodeError):
        parser.read(root / ".bandit", encoding="utf-8")
    if parser.has_section("bandit"):
        for key in ("skips", "tests", "exclude"):
            found[key] += _ini_list(parser.get("bandit", key, fallback=""))
    return BanditSettings(
        skips=tuple(found["skips"]),
        tests=tuple(found["tests"]),
        exclude=tuple(_clean_path(p) for p in found["exclude"] if _clean_path(p)),
    )


def _ini_list(text: str) -> list[str]:
    return [item.strip() for item in text.replace("\n", ",").split(",") if item.strip()]


def _clean_path(path: str) -> str:
    return path.strip().removeprefix("./").rstrip("/")


def _bandit(
    tools: ToolRunner, inp: GateInput, files: Sequence[ChangedFile], config: SecurityConfig
) -> _Parts:
    """bandit on the head files and their base versions, in one run (one start-up).

    The repository's bandit settings come from the base (a change cannot silence its
    own findings), from the head when there is no base.
    """
    repo = bandit_settings(inp.base if inp.base is not None else inp.head)
    files = [f for f in files if not repo.excludes(f.path)]
    if not files:
        return _Parts()
    old = {f.old_path: f.path for f in files if f.old_path}
    base = inp.base
    base_paths = [str(base / p) for p in old if base is not None and (base / p).is_file()]
    report = _bandit_report(tools, inp.head, [*(f.path for f in files), *base_paths], config, repo)
    parts = _Parts()
    for item in _confident(report, config):
        at_base = base is not None and _under(str(item.get("filename", "")), base)
        finding, secret = _bandit_finding(item, base if at_base and base else inp.head)
        if at_base:
            parts.base.append(replace(finding, path=old.get(finding.path, finding.path)))
        else:
            parts.head.append(finding)
        parts.secrets.update(secret)
    for error in report.get("errors", []):
        filename = str(error.get("filename", ""))
        if base is not None and _under(filename, base):
            continue  # the base's own problem: nothing this change can fix
        path = relative(filename, inp.head)
        reason = error.get("reason", "")
        parts.incomplete.append(templates.BANDIT_UNPARSABLE.format(path=path, reason=reason))
    return parts


def _under(filename: str, root: Path) -> bool:
    path = Path(filename)
    return path.is_absolute() and (path.is_relative_to(root) or path.is_relative_to(root.resolve()))


def _bandit_report(
    tools: ToolRunner,
    root: Path,
    paths: Sequence[str],
    config: SecurityConfig,
    repo: BanditSettings,
) -> dict[str, Any]:
    skipped = list(dict.fromkeys([*config.bandit_skips, *repo.skips]))
    skips = ["-s", ",".join(skipped)] if skipped else []
    chosen = ["-t", ",".join(repo.tests)] if repo.tests else []
    argv = [*tool_command(BANDIT), "-f", "json", "-q", *skips, *chosen, *paths]
    output = tools.run(argv, cwd=root, ok_codes=(0, 1))
    try:
        report = json.loads(output.stdout)
    except json.JSONDecodeError as exc:
        raise ToolFailed(f"bandit printed something that is not JSON: {exc}") from exc
    return report if isinstance(report, dict) else {}


def _confident(report: Mapping[str, Any], config: SecurityConfig) -> list[Mapping[str, Any]]:
    threshold = config.min_confidence.rank
    return [
        item
        for item in report.get("results", [])
        if _CONFIDENCE.get(item.get("issue_confidence", ""), Confidence.HIGH).rank >= threshold
    ]


def _bandit_finding(item: Mapping[str, Any], root: Path) -> tuple[Finding, list[str]]:
    message = str(item.get("issue_text", ""))
    quoted: list[str] = []
    if item.get("test_id") in _QUOTES_SECRET:
        quoted = _QUOTED.findall(message)
        message = _QUOTED.sub(lambda m: f"'{redact(m.group(1))}'", message)
    lines = item.get("line_range") or [item["line_number"]]
    start, end = int(item["line_number"]), int(max(lines))
    same_line = start == end
    finding = Finding(
        path=relative(str(item["filename"]), root),
        start_line=start,
        end_line=max(start, end),
        severity=_BANDIT_LEVELS.get(str(item.get("issue_severity")), Severity.LOW),
        rule=str(item.get("test_id", "bandit")),
        message=message,
        tool=BANDIT,
        start_column=int(item["col_offset"]) + 1 if same_line and "col_offset" in item else None,
        end_column=_end_column(item) if same_line else None,
        url=str(item.get("more_info") or ""),
        cwe=_cwe(item),
        subject=digest("\0".join(quoted)) if quoted else "",
    )
    return finding, quoted


def _cwe(item: Mapping[str, Any]) -> int | None:
    """Bandit's ``issue_cwe.id``: reviewers link the weakness for people."""
    cwe = item.get("issue_cwe")
    value = cwe.get("id") if isinstance(cwe, Mapping) else None
    return value if isinstance(value, int) and value > 0 else None


def _end_column(item: Mapping[str, Any]) -> int | None:
    value = item.get("end_col_offset")
    return int(value) + 1 if isinstance(value, int) else None


# ---------------------------------------------------------------------------- secrets


def _secrets(inp: GateInput, entropy: bool) -> _Parts:
    """Secrets on added lines; the base versions are scanned only where some were found."""
    hits = secrets.scan_patch(inp.diff, entropy=entropy)
    parts = _Parts(head=[hit.finding() for hit in hits], secrets={hit.value for hit in hits})
    if inp.base is None:
        return parts
    for path in sorted({hit.path for hit in hits}):
        changed = inp.changes.get(path)
        if changed is None or changed.old_path is None:
            continue
        lines = read_lines(inp.base / changed.old_path)
        old_hits = secrets.scan_file(path, lines, entropy=entropy)
        parts.base += [hit.finding() for hit in old_hits]
        parts.secrets |= {hit.value for hit in old_hits}
    return parts


# ---------------------------------------------------------------------------- workflows


def _workflows(
    tools: ToolRunner, inp: GateInput, files: Sequence[ChangedFile], confidence: Confidence
) -> _Parts:
    head, base = workflows.audit(tools, inp.head, inp.base, files, confidence)
    return _Parts(head=head, base=base)


# ---------------------------------------------------------------------------- dependencies


def _dependencies(
    tools: ToolRunner, inp: GateInput, files: Sequence[ChangedFile], config: SecurityConfig
) -> _Parts:
    pins, loose = dependencies.added_pins(inp.head, files)
    result = dependencies.audit(tools, pins, config.audit_timeout_seconds)
    notes = list(result.notes)
    if loose:
        notes.append(templates.AUDIT_UNPINNED.format(names=", ".join(sorted(set(loose)))))
    return _Parts(head=result.findings, notes=notes, incomplete=result.incomplete)
