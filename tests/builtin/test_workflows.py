"""The workflow hardener: permissions, checkout credentials, pins and zizmor's safe fixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.builtin.workflows import WorkflowHardener, harden
from agents.executors.base import Outcome
from bot.errors import GitHubNotFound
from tests.builtin.conftest import BUDGET, ENV, MakeRepo, order, read

CHECKOUT_SHA = "08c6903cd8c0fde910a37f88322edcfb5dd907a8"
SETUP_SHA = "a26af69be951a213d495a4c3e4e4022e16d87065"
SHARED_SHA = "1111111111111111111111111111111111111111"
COMMITS = {
    ("actions/checkout", "v4"): CHECKOUT_SHA,
    ("actions/setup-python", "v5"): SETUP_SHA,
    ("octo/shared", "main"): SHARED_SHA,
}


def resolve(repo: str, ref: str) -> str | None:
    return COMMITS.get((repo, ref))


CI = """\
name: CI  # runs on every push

on:
  push:
    branches: [main]
  pull_request:

jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Set up Python
        uses: "actions/setup-python@v5"  # keep in step with pyproject
        with:
          python-version: "3.12"
      - run: pip install -e . && pytest -q
  docs:
    uses: octo/shared/.github/workflows/docs.yml@main
"""
CI_HARDENED = f"""\
name: CI  # runs on every push

on:
  push:
    branches: [main]
  pull_request:

permissions:
  contents: read

jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@{CHECKOUT_SHA} # v4
        with:
          persist-credentials: false
      - name: Set up Python
        uses: "actions/setup-python@{SETUP_SHA}" # v5 keep in step with pyproject
        with:
          python-version: "3.12"
      - run: pip install -e . && pytest -q
  docs:
    uses: octo/shared/.github/workflows/docs.yml@{SHARED_SHA} # main
"""
RELEASE = """\
on:
  release:
    types: [published]
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
    - name: Check out
      uses: actions/checkout@v4
      with:
        fetch-depth: 0  # tags for the version
    - uses: ./.github/actions/build
    - uses: docker://alpine:3.20
"""
RELEASE_HARDENED = f"""\
on:
  release:
    types: [published]
permissions: {{}}
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
    - name: Check out
      uses: actions/checkout@{CHECKOUT_SHA} # v4
      with:
        fetch-depth: 0  # tags for the version
        persist-credentials: false
    - uses: ./.github/actions/build
    - uses: docker://alpine:3.20
"""
DONE = f"""\
on: push
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@{CHECKOUT_SHA} # v4
        with:
          persist-credentials: true  # the job pushes tags
"""


@pytest.mark.parametrize(
    ("text", "expected", "notes"),
    [
        (CI, CI_HARDENED, ["added `permissions: contents: read`"]),
        (RELEASE, RELEASE_HARDENED, ["added `permissions: {}`"]),
        (DONE, DONE, []),
        (CI.replace("\n", "\r\n"), CI_HARDENED.replace("\n", "\r\n"), ["contents: read"]),
        (
            CI.replace("@main", "@gone"),
            CI_HARDENED.replace(f"@{SHARED_SHA} # main", "@gone"),
            ["`octo/shared/.github/workflows/docs.yml@gone` left unpinned"],
        ),
    ],
    ids=[
        "ci-workflow",
        "every-job-declares-permissions",
        "already-hardened",
        "crlf-line-endings-kept",
        "unknown-ref-left-unpinned",
    ],
)
def test_harden(text: str, expected: str, notes: list[str]) -> None:
    hardened, hardening = harden(".github/workflows/ci.yml", text, resolve)

    assert hardened == expected
    for note in notes:
        assert any(note in said for said in hardening.notes), hardening.notes
    assert bool(hardening.notes) == bool(notes)


def test_without_a_resolver_pins_are_left_and_said_so() -> None:
    hardened, hardening = harden(".github/workflows/ci.yml", CI, None)

    assert "actions/checkout@v4\n" in hardened
    assert "persist-credentials: false" in hardened
    assert sum("no way to look up commits" in note for note in hardening.notes) == 3


def test_a_resolver_error_leaves_the_pin_and_says_why() -> None:
    def failing(repo: str, ref: str) -> str | None:
        raise GitHubNotFound("404: repository not found")

    hardened, hardening = harden(".github/workflows/ci.yml", CI, failing)

    assert "actions/checkout@v4\n" in hardened
    assert any("repository not found" in note for note in hardening.notes)


INJECTABLE = """\
on: pull_request
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_hardens_the_task_workflows_and_reports_zizmor_before_and_after(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({".github/workflows/ci.yml": CI, ".github/workflows/greet.yml": INJECTABLE})
    hardener = WorkflowHardener(resolve)
    task = order(title="Harden the CI workflows", files=(".github/workflows/ci.yml",))

    result = hardener.run(task, root, BUDGET, ENV)

    assert result.outcome is Outcome.CHANGED, result.summary
    assert read(root, ".github/workflows/ci.yml") == CI_HARDENED
    assert read(root, ".github/workflows/greet.yml") == INJECTABLE
    assert result.handoff is not None
    assert result.handoff.changed_files == (".github/workflows/ci.yml",)
    assert "actions pinned to commit SHAs" in result.summary
    zizmor = next(note for note in result.handoff.notes if note.startswith("zizmor findings"))
    before, after = (int(n) for n in zizmor.removeprefix("zizmor findings: ").split()[::2][:2])
    assert before > after


@pytest.mark.parametrize(
    ("files", "allowed", "summary"),
    [
        ({".github/workflows/ci.yml": DONE}, (), "already follow"),
        ({"app/main.py": "print(1)\n"}, (), "No GitHub Actions workflow"),
        ({".github/workflows/ci.yml": CI}, ("app/**",), "No GitHub Actions workflow"),
    ],
    ids=["already-hardened", "no-workflow", "workflow-not-allowed"],
)
def test_nothing_to_harden(
    make_repo: MakeRepo, files: dict[str, str], allowed: tuple[str, ...], summary: str
) -> None:
    root = make_repo(files)

    result = WorkflowHardener(resolve).run(order(allowed_paths=allowed), root, BUDGET, ENV)

    assert result.outcome is Outcome.NO_CHANGE
    assert summary in result.summary
    assert {path: read(root, path) for path in files} == files


def test_a_broken_workflow_is_still_hardened_with_a_note(make_repo: MakeRepo) -> None:
    broken = CI + "  oops: [\n"
    root: Path = make_repo({".github/workflows/ci.yml": broken})

    result = WorkflowHardener(resolve).run(order(), root, BUDGET, ENV)

    assert result.outcome is Outcome.CHANGED
    assert "persist-credentials: false" in read(root, ".github/workflows/ci.yml")
    assert result.handoff is not None
    assert any("zizmor" in note for note in result.handoff.notes)
