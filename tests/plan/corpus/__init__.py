"""A corpus of real issues from popular Python projects, with what a tech lead expects.

Each case (``cases/*.yml``) holds an issue's real title, body (verbatim, trimmed with
``[…]`` only where very long) and labels, and the expectations a tech lead would hold:
its kind, the real work items, the specialists the work needs, the priority band, and
the files the fix changed (from the fix commit or pull request when one was found; the
source is in ``files_source``). Its ``snapshot`` rebuilds the relevant part of the
repository offline: the path listing in ``repos/<name>.txt`` (minus paths that did not
exist yet, with ``rename`` for older layouts) plus a few files cut to the functions that
matter, so research can run on it.

    cases = load_cases()
    root = materialise(cases[0], tmp_path)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
CASES = HERE / "cases"
REPOS = HERE / "repos"

KINDS = frozenset({"bug", "feature", "security", "performance", "docs", "refactor", "tracking"})
PRIORITIES = ("high", "medium", "low")
SPECIALISTS = frozenset(
    {
        "project-analyst", "api-architect", "database-expert", "backend-developer",
        "frontend-developer", "security-guardian", "performance-expert", "test-engineer",
        "code-reviewer", "docs-writer", "devops-engineer",
    }
)  # fmt: skip
_CASE_KEYS = frozenset({"id", "repository", "url", "title", "labels", "body", "expect", "snapshot"})
_EXPECT_KEYS = frozenset(
    {"kind", "priority", "specialists", "work", "files", "files_source", "completed"}
)
_SNAPSHOT_KEYS = frozenset({"repo", "exclude", "rename", "files"})


class CorpusError(ValueError):
    """A case file that does not follow the corpus format."""


@dataclass(frozen=True)
class Expectation:
    """What a tech lead expects of the plan for one issue."""

    kind: str
    priority: str
    specialists: tuple[str, ...]
    work: tuple[str, ...]
    files: tuple[str, ...] = ()
    files_source: str = ""
    completed: int | None = None


@dataclass(frozen=True)
class Case:
    """One real issue, its expectations and the repository snapshot to research."""

    id: str
    repository: str
    url: str
    title: str
    body: str
    labels: tuple[str, ...]
    expect: Expectation
    repo: str
    exclude: tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)
    contents: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The issue as research reads it: title, a blank line, the body."""
        return f"{self.title}\n\n{self.body}"

    @property
    def number(self) -> int:
        return int(self.url.rstrip("/").rsplit("/", 1)[-1])

    def paths(self) -> list[str]:
        """Every path of the snapshot, as the repository stood for this issue."""
        listed = [_renamed(path, self.rename) for path in repo_paths(self.repo)]
        kept = [path for path in listed if path not in set(self.exclude)]
        return sorted(set(kept) | set(self.contents))


def load_cases(directory: Path = CASES) -> list[Case]:
    """Every case in ``directory``, sorted by id; raises CorpusError on a malformed one."""
    cases = [load_case(path) for path in sorted(directory.glob("*.yml"))]
    ids = [case.id for case in cases]
    if len(set(ids)) != len(ids):
        raise CorpusError(f"duplicate case ids in {directory}")
    return sorted(cases, key=lambda case: case.id)


def load_case(path: Path) -> Case:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    _check_keys(path, data, _CASE_KEYS, "case")
    expect = data["expect"]
    snapshot = data["snapshot"]
    _check_keys(path, expect, _EXPECT_KEYS, "expect", required={"kind", "priority"})
    _check_keys(path, snapshot, _SNAPSHOT_KEYS, "snapshot", required={"repo"})
    case = Case(
        id=str(data["id"]),
        repository=str(data["repository"]),
        url=str(data["url"]),
        title=str(data["title"]),
        body=str(data["body"]),
        labels=tuple(str(label) for label in data.get("labels") or ()),
        expect=_expectation(expect),
        repo=str(snapshot["repo"]),
        exclude=tuple(snapshot.get("exclude") or ()),
        rename=dict(snapshot.get("rename") or {}),
        contents={str(k): str(v) for k, v in (snapshot.get("files") or {}).items()},
    )
    _validate(path, case)
    return case


def repo_paths(name: str) -> list[str]:
    """The path listing of a repository snapshot; ``#`` starts a comment line."""
    lines = (REPOS / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def materialise(case: Case, root: Path) -> Path:
    """Write the case's snapshot under ``root`` and return ``root``."""
    for path in case.paths():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(case.contents.get(path, ""), encoding="utf-8")
    return root


def _expectation(data: Mapping[str, Any]) -> Expectation:
    return Expectation(
        kind=str(data["kind"]),
        priority=str(data["priority"]),
        specialists=tuple(data.get("specialists") or ()),
        work=tuple(data.get("work") or ()),
        files=tuple(data.get("files") or ()),
        files_source=str(data.get("files_source") or ""),
        completed=data.get("completed"),
    )


def _renamed(path: str, rename: Mapping[str, str]) -> str:
    for old, new in rename.items():
        if path.startswith(old):
            return new + path[len(old) :]
    return path


def _check_keys(
    path: Path,
    data: Any,
    allowed: frozenset[str],
    where: str,
    required: set[str] | None = None,
) -> None:
    if not isinstance(data, dict):
        raise CorpusError(f"{path.name}: {where} must be a mapping")
    unknown = set(data) - allowed
    missing = (allowed if required is None else required) - set(data)
    if required is None:
        missing -= {"labels"}
    if unknown or missing:
        raise CorpusError(
            f"{path.name}: {where} unknown {sorted(unknown)} missing {sorted(missing)}"
        )


def _validate(path: Path, case: Case) -> None:
    expect = case.expect
    problems = []
    if expect.kind not in KINDS:
        problems.append(f"kind {expect.kind!r}")
    if expect.priority not in PRIORITIES:
        problems.append(f"priority {expect.priority!r}")
    problems += [f"specialist {s!r}" for s in expect.specialists if s not in SPECIALISTS]
    if expect.files and not expect.files_source:
        problems.append("files without files_source")
    if not (REPOS / f"{case.repo}.txt").is_file():
        raise CorpusError(f"{path.name}: no repository listing {case.repo!r}")
    paths = set(case.paths())
    problems += [f"fix file {f!r} not in the snapshot" for f in expect.files if f not in paths]
    if problems:
        raise CorpusError(f"{path.name}: " + "; ".join(problems))
