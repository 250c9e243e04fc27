"""The three streams on real-shaped changes: what each says, and where it stays quiet."""

from __future__ import annotations

from pathlib import Path

import pytest

from gates.config import Severity
from gates.model import Finding, Fix
from reviewers import code, docs, security
from reviewers.model import Comment, ReviewSettings, Stream
from tests.reviewers.conftest import review_input

BRANCHY = "".join(f"    if x == {n}:\n        return {n}\n" for n in range(12))


def rules(comments: list[Comment]) -> list[tuple[str, str, int]]:
    return sorted((c.rule, c.path, c.line) for c in comments)


# ---------------------------------------------------------------------------- code review


def test_code_review_points_at_what_a_colleague_would(tmp_path: Path) -> None:
    head = (
        "def pick(x):\n" + BRANCHY + "    return None\n\n\n"
        "def load(path):\n"
        "    # TODO: validate the document\n"
        "    print('loading', path)\n"
        "    try:\n"
        "        return open(path).read()\n"
        "    except Exception:\n"
        "        return None\n"
        "    breakpoint()\n"
    )
    inp = review_input(tmp_path, {"src/app.py": "def old():\n    return 1\n"}, {"src/app.py": head})
    assert rules(code.review(inp)) == [
        ("broad-except", "src/app.py", 34),
        ("complexity", "src/app.py", 1),
        ("debug-breakpoint", "src/app.py", 36),
        ("debug-print", "src/app.py", 31),
        ("no-tests", "src/app.py", 0),
        ("todo", "src/app.py", 30),
    ]


def test_code_review_stays_quiet_on_what_did_not_get_worse(tmp_path: Path) -> None:
    before = "def pick(x):\n" + BRANCHY + "    return None\n"
    after = before.replace("return 3\n", "return 33\n")
    files = {"src/app.py": after, "tests/test_app.py": "def test_pick():\n    assert True\n"}
    inp = review_input(tmp_path, {"src/app.py": before}, files)
    assert code.review(inp) == [], "complexity unchanged, tests changed, no new prints"


def test_prints_in_scripts_tests_and_main_blocks_are_fine(tmp_path: Path) -> None:
    files = {
        "scripts/release.py": "print('releasing')\n",
        "tests/test_x.py": "def test_x():\n    print('debug')\n",
        "src/tool.py": "def main():\n    pass\n\n\nif __name__ == '__main__':\n    print(main())\n",
    }
    inp = review_input(tmp_path, {}, files)
    assert [c.rule for c in code.review(inp) if c.rule.startswith("debug")] == []


def test_lint_findings_carry_their_safe_fix_as_a_suggestion(tmp_path: Path) -> None:
    inp = review_input(
        tmp_path,
        {},
        {"src/a.py": "import os\nx = 1\n"},
        findings=(
            Finding(
                "src/a.py",
                1,
                1,
                Severity.MEDIUM,
                "F401",
                "`os` imported but unused",
                "ruff",
                fix=Fix(1, 1, "", "Remove unused import: `os`"),
            ),
            Finding(
                "src/a.py",
                2,
                2,
                Severity.LOW,
                "E999",
                "unsafe fix",
                "ruff",
                fix=Fix(2, 2, "y = 1\n", "rename", safe=False),
            ),
            Finding("src/a.py", 2, 2, Severity.HIGH, "B105", "not a lint finding", "bandit"),
        ),
    )
    lint = [c for c in code.review(inp) if c.rule in ("F401", "E999")]
    assert [(c.rule, c.suggestion) for c in lint] == [("F401", ""), ("E999", None)]


# ------------------------------------------------------------------------------- security


def test_security_findings_are_explained_with_why_how_and_links(tmp_path: Path) -> None:
    finding = Finding(
        "src/a.py",
        3,
        3,
        Severity.MEDIUM,
        "B506",
        "Use of unsafe yaml load.",
        "bandit",
        url="https://bandit.readthedocs.io/en/latest/plugins/b506_yaml_load.html",
        cwe=20,
    )
    inp = review_input(tmp_path, {}, {"src/a.py": "import yaml\n\nyaml.load(s)\n"}, (finding,))
    (comment,) = security.review(inp)
    assert "**Why it matters.**" in comment.body and "yaml.safe_load" in comment.body
    assert "[CWE-20](https://cwe.mitre.org/data/definitions/20.html)" in comment.body
    assert "b506_yaml_load.html" in comment.body


def test_a_credential_comment_never_quotes_the_code_line(tmp_path: Path) -> None:
    key = "AKIAIOSFODNN7EXAMPLE"
    finding = Finding("a.py", 1, 1, Severity.CRITICAL, "secret/aws", "AWS key 'AKIA…'", "secrets")
    inp = review_input(tmp_path, {}, {"a.py": f"KEY = '{key}'\n"}, (finding,))
    (comment,) = security.review(inp)
    assert key not in comment.body + comment.title + comment.snippet
    assert comment.blocking


@pytest.mark.parametrize(
    ("path", "line", "rule"),
    [
        (
            ".github/workflows/ci.yml",
            '      - run: echo "${{ github.event.issue.title }}"',
            "script-injection",
        ),
        (
            ".github/workflows/ci.yml",
            "      - run: git push origin ${{ github.head_ref }}",
            "script-injection",
        ),
        (".github/workflows/ci.yml", "  pull_request_target:", "pull-request-target"),
        (".github/workflows/ci.yml", "permissions: write-all", "write-all"),
        (
            ".github/workflows/ci.yml",
            "      - run: curl -fsSL https://x.sh | bash",
            "pipe-to-shell",
        ),
        ("requirements.txt", "foo @ git+https://github.com/x/foo", "url-dependency"),
        ("requirements.txt", "--extra-index-url https://pypi.example/simple", "package-index"),
        ("requirements-dev.txt", "requests", "unpinned"),
        ("requirements.txt", "requests==2.32.3", None),
        (".github/workflows/ci.yml", '      - run: echo "$TITLE"', None),
    ],
    ids=[
        "event-title",
        "head-ref",
        "pr-target",
        "write-all",
        "curl-bash",
        "git-url",
        "extra-index",
        "unpinned",
        "pinned",
        "env-var",
    ],
)
def test_risky_workflow_and_dependency_lines(
    tmp_path: Path, path: str, line: str, rule: str | None
) -> None:
    inp = review_input(tmp_path, {path: "# start\n"}, {path: f"# start\n{line}\n"})
    assert [(c.rule, c.line) for c in security.review(inp)] == ([(rule, 2)] if rule else [])


# ----------------------------------------------------------------------------------- docs


def test_new_public_api_without_docstrings_gets_a_stub_suggestion(tmp_path: Path) -> None:
    head = (
        "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
        "@router.get('/orders')\n"
        "def list_orders():\n    return []\n\n\n"
        "class Cart:\n    def total(self):\n        return 0\n\n"
        "    def _hidden(self):\n        return 1\n\n\n"
        'def documented():\n    """Says what it does."""\n\n\n'
        "def _private():\n    return 2\n"
    )
    inp = review_input(tmp_path, {}, {"src/api.py": head})
    found = {(c.title, c.line): c.suggestion for c in docs.review(inp)}
    assert set(found) == {
        ("New public endpoint `list_orders` has no docstring", 7),
        ("New public class `Cart` has no docstring", 11),
        ("New public function `Cart.total` has no docstring", 12),
    }
    assert found[("New public function `Cart.total` has no docstring", 12)] == (
        '    def total(self):\n        """Describe what total does."""\n'
    )


def test_public_api_change_without_docs_when_required(tmp_path: Path) -> None:
    base = {"src/api.py": 'def get(key):\n    """Get."""\n'}
    head = {"src/api.py": 'def get(key, default=None):\n    """Get."""\n'}
    required = ReviewSettings(docs_required=True)
    assert [c.rule for c in docs.review(review_input(tmp_path, base, head, settings=required))] == [
        "api-without-docs"
    ]
    with_docs = {**head, "CHANGELOG.md": "- get takes a default\n"}
    assert docs.review(review_input(tmp_path / "b", base, with_docs, settings=required)) == []


def test_broken_relative_links_and_anchors_in_changed_markdown(tmp_path: Path) -> None:
    base = {"README.md": "# Shop\n", "docs/guide.md": "# Guide\n\n## Install it\n", "src/x.py": ""}
    readme = (
        "# Shop\n\n## Usage\n\n"
        "[guide](docs/guide.md) [install](docs/guide.md#install-it) [usage](#usage)\n"
        "[gone](docs/gone.md) [bad anchor](docs/guide.md#setup) [self](#nope)\n"
        "[web](https://example.com/x) [dir](src/) [mail](mailto:a@b.c)\n"
    )
    inp = review_input(tmp_path, base, {"README.md": readme})
    assert sorted(c.title for c in docs.review(inp)) == [
        "Broken link: `#nope`",
        "Broken link: `docs/gone.md`",
        "Broken link: `docs/guide.md#setup`",
    ]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Install it", "install-it"),
        ("What's new?", "whats-new"),
        ("`code` & more", "code--more"),
        ("Über uns", "über-uns"),
        ("[Link](x) text", "link-text"),
    ],
    ids=["spaces", "punctuation", "code-and-amp", "unicode", "link"],
)
def test_heading_slugs_follow_github(heading: str, slug: str) -> None:
    assert docs.slugify(heading) == slug


def test_streams_are_named_for_their_reviews() -> None:
    assert [s.heading for s in Stream] == ["Code review", "Security", "Docs"]
