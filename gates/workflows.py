"""Audits changed GitHub Actions workflows with zizmor (offline)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.errors import ToolFailed
from gates.config import Confidence, Severity
from gates.diff import ChangedFile
from gates.files import relative
from gates.model import Finding
from gates.tools import ToolRunner, tool_command

TOOL = "zizmor"
WORKFLOW = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")
# zizmor's own settings are read from the base branch: a change cannot silence its audit.
CONFIG_FILES = (".github/zizmor.yml", "zizmor.yml")
_SEVERITY = {
    "informational": Severity.INFO,
    "unknown": Severity.LOW,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
}
_CONFIDENCE = {"low": Confidence.LOW, "medium": Confidence.MEDIUM, "high": Confidence.HIGH}
# --strict-collection: a workflow zizmor cannot parse fails the gate instead of being
# skipped, so a broken file never passes as "no findings".
_ARGS = ("--offline", "--no-exit-codes", "--no-progress", "--strict-collection", "--format", "json")


def changed_workflows(files: Sequence[ChangedFile]) -> list[ChangedFile]:
    return [f for f in files if WORKFLOW.match(f.path)]


def audit(
    tools: ToolRunner,
    head: Path,
    base: Path | None,
    files: Sequence[ChangedFile],
    min_confidence: Confidence,
) -> tuple[list[Finding], list[Finding]]:
    """(head, base) findings; one zizmor run covers both revisions."""
    old = {f.old_path: f.path for f in files if f.old_path}
    base_paths = [str(base / p) for p in old if base is not None and (base / p).is_file()]
    argv = [*tool_command("zizmor"), *_ARGS, *_config_args(base), *(f.path for f in files)]
    output = tools.run([*argv, *base_paths], cwd=head)
    try:
        reported = json.loads(output.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise ToolFailed(f"zizmor printed something that is not JSON: {exc}") from exc
    head_findings: list[Finding] = []
    base_findings: list[Finding] = []
    for item in reported:
        finding = _finding(item, min_confidence)
        if finding is None:
            continue
        if base is not None and Path(finding.path).is_absolute():
            path = relative(finding.path, base)
            base_findings.append(_moved(finding, old.get(path, path)))
        else:
            head_findings.append(_moved(finding, relative(finding.path, head)))
    return head_findings, base_findings


def _config_args(base: Path | None) -> list[str]:
    for name in CONFIG_FILES:
        if base is not None and (base / name).is_file():
            return ["--config", str(base / name)]
    return ["--no-config"]


def _finding(item: Mapping[str, Any], min_confidence: Confidence) -> Finding | None:
    determinations = item.get("determinations", {})
    confidence = _CONFIDENCE.get(str(determinations.get("confidence", "")).lower())
    if item.get("ignored") or (confidence and confidence.rank < min_confidence.rank):
        return None
    location = _primary(item.get("locations", []))
    if location is None:
        return None
    symbolic, concrete = location["symbolic"], location["concrete"]["location"]
    start = concrete["start_point"]["row"] + 1
    end = max(start, concrete["end_point"]["row"] + 1)
    note = symbolic.get("annotation") or ""
    return Finding(
        path=_path(symbolic.get("key", {})),
        start_line=start,
        end_line=end,
        severity=_SEVERITY.get(str(determinations.get("severity", "")).lower(), Severity.LOW),
        rule=str(item.get("ident", "zizmor")),
        message=f"{item.get('desc', '')}: {note}" if note else str(item.get("desc", "")),
        tool=TOOL,
        url=str(item.get("url") or ""),
    )


def _primary(locations: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for location in locations:
        if location.get("symbolic", {}).get("kind") == "Primary":
            return location
    return locations[0] if locations else None


def _path(key: Mapping[str, Any]) -> str:
    local = key.get("Local", {})
    return str(local.get("given_path") or local.get("verbatim_path") or "")


def _moved(finding: Finding, path: str) -> Finding:
    return replace(finding, path=path)
