"""Gitignore-style patterns and CODEOWNERS rules, table-driven."""

from __future__ import annotations

import pytest

from agents.research.codeowners import load_codeowners, parse_codeowners
from agents.research.globs import best_match, matches
from agents.research.inventory import build_inventory
from tests.agents.conftest import MakeRepo


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.md", "README.md", True),
        ("*.md", "docs/guide/intro.md", True),
        ("*.js", "web/app.jsx", False),
        ("docs/*", "docs/a.md", True),
        ("docs/*", "docs/deep/a.md", False),
        ("docs/**", "docs/deep/a.md", True),
        ("/docs/", "docs/a.md", True),
        ("/docs/", "src/docs/a.md", False),
        ("apps/", "src/apps/x.py", True),
        ("docs", "src/docs/x.md", True),
        ("**/api/**", "api/v1.py", True),
        ("**/api/**", "src/api/v1.py", True),
        ("**/test_*.py", "test_a.py", True),
        ("src/**/models.py", "src/models.py", True),
        ("src/**/models.py", "src/a/b/models.py", True),
        ("file?.txt", "file1.txt", True),
        ("file[0-9].txt", "filex.txt", False),
        ("*", "anything/at/all", True),
    ],
    ids=lambda value: str(value),
)
def test_glob_matching(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


def test_the_most_specific_glob_wins() -> None:
    assert best_match(("**/*", "tests/**", "**/test_*.py"), "tests/test_a.py") == "**/test_*.py"
    assert best_match(("docs/**",), "src/a.py") is None


RULES = """
# Default owners
*       @org/everyone
*.js    @org/web   # inline comment
/build/ @org/build
docs/*  docs@example.com
/src/payments/ @org/payments @alice
/src/payments/README.md
\\#notes.txt @org/hash
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("main.py", ("@org/everyone",)),
        ("web/app.js", ("@org/web",)),
        ("build/out.txt", ("@org/build",)),
        ("docs/a.md", ("docs@example.com",)),
        ("docs/deep/a.md", ("@org/everyone",)),
        ("src/payments/pay.py", ("@org/payments", "@alice")),
        ("src/payments/README.md", ()),
        ("#notes.txt", ("@org/hash",)),
    ],
    ids=lambda value: str(value),
)
def test_codeowners_last_matching_rule_wins(path: str, owners: tuple) -> None:
    assert parse_codeowners(RULES).owners(path) == owners


def test_codeowners_in_dot_github_takes_precedence(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            ".github/CODEOWNERS": "* @from-github-dir\n",
            "CODEOWNERS": "* @from-root\n",
            "docs/CODEOWNERS": "* @from-docs\n",
        }
    )
    owners = load_codeowners(build_inventory(root))
    assert owners.source == ".github/CODEOWNERS"
    assert owners.owners("x.py") == ("@from-github-dir",)


def test_no_codeowners_means_no_owners(make_repo: MakeRepo) -> None:
    assert load_codeowners(build_inventory(make_repo({"a.py": ""}))).owners("a.py") == ()
