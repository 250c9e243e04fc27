"""L1 and L5 on real-shaped commits: exactly the expected new findings, files untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from gates.config import GateLevel, GatesConfig, load_defaults
from gates.model import GateResult
from gates.revision import local_input
from gates.runner import run_gates
from tests.gates.conftest import tool_env
from tests.gates.corpus import Case, build, cases, snapshot

CASES = cases()
LEVELS = (GateLevel.L1, GateLevel.L5)


def _config() -> GatesConfig:
    # The dependency audit needs the network; the corpus is about L1 and bandit/secrets.
    return load_defaults().with_overrides({"security": {"dependencies": False}})


def _run(root: Path, head: str | None) -> list[GateResult]:
    config = _config()
    # A committed head is written sparsely (only what L1 and L5 read), as the command
    # line does for them: the findings must be those of a full checkout.
    with local_input(
        root,
        base="main",
        head=head,
        baseline=config.baseline,
        env=tool_env(),
        sparse_head=head is not None,
    ) as inp:
        return run_gates(inp, config, levels=LEVELS)


def _new(results: list[GateResult]) -> set[tuple[str, int, str]]:
    return {(f.path, f.start_line, f.rule) for result in results for f in result.new}


def _errors(results: list[GateResult]) -> list[str]:
    return [f"{r.name}: {r.reason}" for r in results if r.reason and not r.new]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_commit_brings_exactly_its_new_findings(case: Case, tmp_path: Path) -> None:
    root = build(case, tmp_path / "repo")
    before = snapshot(root)

    results = _run(root, "HEAD")

    assert not [e for e in _errors(results) if "could not run" in e], case.shape
    assert _new(results) == set(case.new), case.shape
    assert snapshot(root) == before


@pytest.mark.parametrize(
    "case",
    [case for case in CASES if "fix" in case.name],
    ids=lambda case: case.name,
)
def test_working_tree_files_stay_byte_for_byte(case: Case, tmp_path: Path) -> None:
    root = build(case, tmp_path / "repo", commit_head=False)
    before = snapshot(root)

    results = _run(root, None)

    assert _new(results) == set(case.new)
    assert snapshot(root) == before


def test_the_corpus_covers_the_projects_and_both_outcomes() -> None:
    shapes = " ".join(case.shape for case in CASES)
    for project in ("requests", "click", "httpx", "youtube-dl"):
        assert project in shapes
    assert sum(1 for case in CASES if case.new) >= 5
    assert sum(1 for case in CASES if not case.new) >= 5
