"""The docs writer: an ADR from the work order and hand-offs, a CHANGELOG entry."""

from __future__ import annotations

from datetime import date

import pytest

from agents.builtin.changelog import add_entry, has_entry, kind_of
from agents.builtin.docs import DocsWriter, next_name, wanted_parts
from agents.executors.base import Handoff, Outcome
from tests.builtin.conftest import BUDGET, ENV, MakeRepo, order, read

DAY = date(2026, 12, 6)
HANDOFFS = (
    Handoff(
        "T1",
        "Added timeout=30 to every requests call in app/client.py.",
        changed_files=("app/client.py",),
        interfaces=("GET /health returns {'status': 'ok'}",),
        notes=("bandit findings in the changed files: 2 before, 0 after.",),
        pr_url="https://github.com/octo/app/pull/7",
    ),
)
DOCS_TASK = order(
    task_id="T3",
    title="Document the change",
    agent="docs-writer",
    body="Every outbound HTTP call gets a timeout and certificate checks.",
    findings=("requests waits forever without a timeout (bandit B113)",),
    handoffs=HANDOFFS,
)
ADR = """\
---
status: proposed
date: 2026-12-06
---

# Harden the HTTP client

## Context and Problem Statement

Issue #42 in octo/app: Harden the HTTP client.

Every outbound HTTP call gets a timeout and certificate checks.

## Decision Drivers

* requests waits forever without a timeout (bandit B113)

## Decision Outcome

* T1: Added timeout=30 to every requests call in app/client.py.

### Consequences

* Changed: `app/client.py`
* Interface: GET /health returns {'status': 'ok'}
* bandit findings in the changed files: 2 before, 0 after.

## More Information

* Recorded from task T3 of the plan for #42.
* T1: https://github.com/octo/app/pull/7
<!-- techlead:adr octo/app#42 -->
"""
KEEPACHANGELOG = """\
# Changelog

All notable changes to this project will be documented in this file.

## [1.1.0] - 2026-05-01

### Added

* Retry policy for webhooks.

## [1.0.0] - 2026-01-01

* First release.

[1.1.0]: https://github.com/octo/app/compare/v1.0.0...v1.1.0
[1.0.0]: https://github.com/octo/app/releases/tag/v1.0.0
"""
KEEPACHANGELOG_AFTER = KEEPACHANGELOG.replace(
    "## [1.1.0] - 2026-05-01",
    "## [Unreleased]\n\n### Security\n\n* Harden the HTTP client (#42)\n\n## [1.1.0] - 2026-05-01",
).replace(
    "[1.1.0]: https",
    "[Unreleased]: https://github.com/octo/app/compare/v1.1.0...HEAD\n[1.1.0]: https",
)


def test_writes_the_adr_and_the_changelog_entry(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "docs/adr/0001-record-architecture-decisions.md": "# 1. Record decisions\n",
            "docs/adr/0002-use-sqlite.md": "# 2. Use SQLite\n",
            "CHANGELOG.md": KEEPACHANGELOG,
        }
    )
    writer = DocsWriter(today=lambda: DAY)

    result = writer.run(DOCS_TASK, root, BUDGET, ENV)

    assert result.outcome is Outcome.CHANGED, result.summary
    assert read(root, "docs/adr/0003-harden-the-http-client.md") == ADR
    assert read(root, "CHANGELOG.md") == KEEPACHANGELOG_AFTER
    assert result.handoff is not None
    assert result.handoff.changed_files == (
        "CHANGELOG.md",
        "docs/adr/0003-harden-the-http-client.md",
    )

    again = writer.run(DOCS_TASK, root, BUDGET, ENV)

    assert again.outcome is Outcome.NO_CHANGE
    assert sorted(p.name for p in (root / "docs/adr").iterdir())[-1] == (
        "0003-harden-the-http-client.md"
    )
    assert read(root, "CHANGELOG.md") == KEEPACHANGELOG_AFTER


@pytest.mark.parametrize(
    ("title", "allowed", "written", "untouched"),
    [
        ("Add a CHANGELOG entry", (), ["CHANGELOG.md"], []),
        ("Write an ADR", (), ["docs/adr/0001-harden-the-http-client.md"], ["CHANGELOG.md"]),
        ("Update the docs", ("docs/**",), ["docs/adr/0001-harden-the-http-client.md"], []),
    ],
    ids=["changelog-only", "adr-only", "changelog-not-allowed"],
)
def test_writes_only_what_is_asked_and_allowed(
    make_repo: MakeRepo,
    title: str,
    allowed: tuple[str, ...],
    written: list[str],
    untouched: list[str],
) -> None:
    root = make_repo({"README.md": "# App\n"})
    task = order(title=title, allowed_paths=allowed)

    result = DocsWriter(today=lambda: DAY).run(task, root, BUDGET, ENV)

    assert result.outcome is Outcome.CHANGED
    assert result.handoff is not None
    assert list(result.handoff.changed_files) == written
    for path in untouched:
        assert not (root / path).exists()
    if allowed:
        assert any("CHANGELOG.md" in note for note in result.handoff.notes)


def test_a_new_changelog_follows_keep_a_changelog(make_repo: MakeRepo) -> None:
    root = make_repo({})

    DocsWriter(today=lambda: DAY).run(order(title="Changelog"), root, BUDGET, ENV)

    text = read(root, "CHANGELOG.md")
    assert text.startswith("# Changelog\n")
    assert "Keep a Changelog" in text
    assert text.endswith("## [Unreleased]\n\n### Security\n\n- Harden the HTTP client (#42)\n")


UNRELEASED = """\
# Changes

## Unreleased

### Fixed

- Crash on an empty body (#40)

## 1.0.0

- First release.
"""


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        (
            UNRELEASED,
            "Fixed",
            UNRELEASED.replace("(#40)\n", "(#40)\n- New entry (#42)\n"),
        ),
        (
            UNRELEASED,
            "Added",
            UNRELEASED.replace("### Fixed", "### Added\n\n- New entry (#42)\n\n### Fixed"),
        ),
        (
            UNRELEASED,
            "Security",
            UNRELEASED.replace("(#40)\n", "(#40)\n\n### Security\n\n- New entry (#42)\n"),
        ),
        (
            "# Changes\n\n## 1.0.0\n\n- First release.\n",
            "Changed",
            "# Changes\n\n## Unreleased\n\n### Changed\n\n- New entry (#42)\n\n"
            "## 1.0.0\n\n- First release.\n",
        ),
        (
            UNRELEASED.replace("\n", "\r\n"),
            "Fixed",
            UNRELEASED.replace("(#40)\n", "(#40)\n- New entry (#42)\n").replace("\n", "\r\n"),
        ),
    ],
    ids=[
        "existing-kind",
        "new-kind-in-order",
        "new-kind-last",
        "unreleased-created-unbracketed",
        "crlf-kept",
    ],
)
def test_add_entry(text: str, kind: str, expected: str) -> None:
    assert add_entry(text, "New entry (#42)", kind) == expected


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Harden the HTTP client against CVE-2024-1234", "Security"),
        ("Fix the crash on empty bodies", "Fixed"),
        ("Remove the legacy v1 API", "Removed"),
        ("Deprecate the XML output", "Deprecated"),
        ("Add retries to webhook delivery", "Added"),
        ("Speed up the planner", "Changed"),
    ],
    ids=["security", "fixed", "removed", "deprecated", "added", "changed"],
)
def test_kind_of(title: str, kind: str) -> None:
    assert kind_of(title) == kind


def test_has_entry_looks_only_at_unreleased_and_whole_numbers() -> None:
    assert has_entry(UNRELEASED, 40)
    assert not has_entry(UNRELEASED, 4)
    assert not has_entry(UNRELEASED.replace("## Unreleased", "## 1.0.1"), 40)


@pytest.mark.parametrize(
    ("existing", "name"),
    [
        ([], "0001-x.md"),
        (["0001-a.md", "0009-b.md"], "0010-x.md"),
        (["001-a.md"], "002-x.md"),
    ],
    ids=["first", "after-the-highest", "width-kept"],
)
def test_next_name(existing: list[str], name: str) -> None:
    assert next_name(existing, "x") == name


@pytest.mark.parametrize(
    ("title", "parts"),
    [
        ("Write an ADR for the retry policy", (True, False)),
        ("Update the CHANGELOG", (False, True)),
        ("Document the change", (True, True)),
    ],
    ids=["adr", "changelog", "both"],
)
def test_wanted_parts(title: str, parts: tuple[bool, bool]) -> None:
    assert wanted_parts(order(title=title)) == parts
