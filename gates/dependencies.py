"""Audits the dependencies a change adds with pip-audit, giving up quickly when offline."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bot.errors import ToolFailed, ToolTimeout
from gates import templates
from gates.config import Severity
from gates.diff import ChangedFile
from gates.files import read_lines
from gates.model import Finding
from gates.tools import ToolRunner, failure_message, tool_command

TOOL = "pip-audit"
PYPROJECT = "pyproject.toml"
_REQUIREMENTS = re.compile(r"^requirements[^/]*\.txt$")
_PINNED = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#,]+)")
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[|[<>=!~;]|$)")
# Error output that means "no network", not "bad input".
_OFFLINE = re.compile(
    r"ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|Max retries exceeded|"
    r"NameResolution|Temporary failure in name resolution|Network is unreachable|"
    r"timed out|SSLError",
)
_VULN_URL = "https://osv.dev/vulnerability/{id}"


@dataclass(frozen=True)
class Pin:
    """``name==version`` declared at a line of a dependency file."""

    name: str
    version: str
    path: str
    line: int


@dataclass(frozen=True)
class AuditResult:
    findings: list[Finding]
    notes: list[str]
    incomplete: list[str]


def dependency_files(files: Sequence[ChangedFile]) -> list[ChangedFile]:
    return [f for f in files if _is_dependency_file(f.path)]


def _is_dependency_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return bool(_REQUIREMENTS.match(name)) or name == PYPROJECT


def added_pins(head: Path, files: Sequence[ChangedFile]) -> tuple[list[Pin], list[str]]:
    """Exact pins on added lines, and names added without an exact version."""
    pins: list[Pin] = []
    loose: list[str] = []
    for changed in files:
        lines = read_lines(head / changed.path)
        for number in sorted(changed.added):
            text = lines[number - 1] if number <= len(lines) else ""
            _classify(changed, number, text, pins, loose)
    return pins, loose


def _classify(
    changed: ChangedFile, number: int, text: str, pins: list[Pin], loose: list[str]
) -> None:
    candidate = _requirement_text(changed.path, text)
    if candidate is None:
        return
    match = _PINNED.match(candidate)
    if match:
        pins.append(Pin(match[1].lower(), match[2], changed.path, number))
    elif re.match(r"^[A-Za-z0-9]", candidate):
        loose.append(re.split(r"[\s<>=!~;\[]", candidate, maxsplit=1)[0])


def _requirement_text(path: str, text: str) -> str | None:
    """The requirement a line declares, if it declares one."""
    stripped = text.strip()
    if PurePosixPath(path).name != PYPROJECT:
        return None if stripped.startswith(("#", "-")) or not stripped else stripped
    # In pyproject.toml a requirement is a quoted string in a dependency array.
    quoted = re.match(r'^["\']([^"\']+)["\'],?\s*(#.*)?$', stripped)
    return quoted[1] if quoted and _is_requirement(quoted[1]) else None


def _is_requirement(text: str) -> bool:
    return bool(_REQUIREMENT.match(text))


def audit(tools: ToolRunner, pins: Sequence[Pin], timeout: float) -> AuditResult:
    """pip-audit the pins (no resolving: exactly the versions the change declares)."""
    if not pins:
        return AuditResult([], [], [])
    with tempfile.TemporaryDirectory(prefix="techlead-audit-") as scratch:
        requirements = Path(scratch) / "requirements.txt"
        unique = sorted({(pin.name, pin.version) for pin in pins})
        requirements.write_text("".join(f"{n}=={v}\n" for n, v in unique), encoding="utf-8")
        argv = [
            *tool_command("pip-audit", "pip_audit"),
            *("-r", str(requirements), "--no-deps", "--disable-pip", "--format", "json"),
            *("--progress-spinner", "off", "--timeout", str(max(1, int(timeout)))),
        ]
        try:
            output = tools.run(argv, cwd=Path(scratch), ok_codes=(0, 1), timeout=timeout)
        except ToolTimeout:
            return AuditResult([], [], [templates.AUDIT_TIMED_OUT.format(seconds=timeout)])
    if output.returncode == 1 and not output.stdout.strip():
        return _failed(output.stderr)
    return _read_report(output.stdout, pins)


def _failed(stderr: str) -> AuditResult:
    match = _OFFLINE.search(stderr)
    if match is None:
        raise ToolFailed(failure_message(TOOL, 1, stderr))
    return AuditResult([], [], [templates.AUDIT_UNREACHABLE.format(detail=match.group(0))])


def _read_report(stdout: str, pins: Sequence[Pin]) -> AuditResult:
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise ToolFailed(f"pip-audit printed something that is not JSON: {exc}") from exc
    by_name: dict[str, list[Pin]] = {}
    for pin in pins:
        by_name.setdefault(pin.name, []).append(pin)
    findings: list[Finding] = []
    skipped: list[str] = []
    for dependency in report.get("dependencies", []):
        if dependency.get("skip_reason"):
            skipped.append(str(dependency["skip_reason"]))
            continue
        findings.extend(_findings(dependency, by_name.get(str(dependency["name"]).lower(), [])))
    incomplete = []
    if skipped:
        incomplete.append(templates.AUDIT_SKIPPED.format(count=len(skipped), detail=skipped[0]))
    return AuditResult(findings, [], incomplete)


def _findings(dependency: dict[str, Any], pins: Iterable[Pin]) -> list[Finding]:
    return [
        Finding(
            path=pin.path,
            start_line=pin.line,
            end_line=pin.line,
            severity=Severity.HIGH,
            rule=str(vuln["id"]),
            message=templates.vulnerability_message(
                pin.name, pin.version, str(vuln["id"]), list(vuln.get("fix_versions") or [])
            ),
            tool=TOOL,
            url=_VULN_URL.format(id=vuln["id"]),
        )
        for vuln in dependency.get("vulns", [])
        for pin in pins
        if pin.version == dependency.get("version", pin.version)
    ]
