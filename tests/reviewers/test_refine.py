"""Applying suggested fixes: exact lines, bottom up, overlaps skipped, commands parsed."""

from __future__ import annotations

import pytest

from bot.features.reviews.commands import parse_command
from reviewers.model import Comment, Stream
from reviewers.refine import apply_suggestions

TEXT = "import os\nimport sys\nx = 1\ny = 2\n"


def fix(line: int, end: int, replacement: str | None, path: str = "a.py") -> Comment:
    return Comment(
        Stream.CODE,
        "R",
        path,
        line,
        "t",
        "b",
        end_line=end,
        suggestion=replacement,
        snippet=f"{line}-{end}",
    )


def test_suggestions_apply_bottom_up_and_keep_line_numbers() -> None:
    refined = apply_suggestions({"a.py": TEXT}, [fix(1, 1, ""), fix(4, 4, "y = 3\n")])
    assert refined.texts == {"a.py": "import sys\nx = 1\ny = 3\n"}
    assert [c.line for c in refined.applied] == [1, 4]


def test_an_overlapping_suggestion_waits_for_the_next_refine() -> None:
    refined = apply_suggestions({"a.py": TEXT}, [fix(2, 3, "z = 0\n"), fix(3, 4, "w = 0\n")])
    assert refined.texts == {"a.py": "import os\nimport sys\nw = 0\n"}
    assert [c.line for c in refined.applied] == [3]


def test_comments_without_fix_or_file_change_nothing() -> None:
    refined = apply_suggestions(
        {"a.py": TEXT}, [fix(1, 1, None), fix(1, 1, "", path="b.py"), fix(9, 9, "")]
    )
    assert (refined.texts, refined.applied) == ({}, ())


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        ("/techlead refine", ("/techlead", "refine", "")),
        (
            "Thanks!\n/techlead ignore test fixture, not a real key",
            ("/techlead", "ignore", "test fixture, not a real key"),
        ),
        ("  /techlead explain please", ("/techlead", "explain", "please")),
        ("/techlead approve", None),
        ("please /techlead refine", None),
        ("/techlead refined", None),
    ],
    ids=[
        "refine",
        "ignore-with-reason",
        "explain",
        "other-command",
        "not-at-line-start",
        "prefix-word",
    ],
)
def test_commands_are_read_from_the_start_of_a_line(
    body: str, parsed: tuple[str, str, str] | None
) -> None:
    assert parse_command(body) == parsed
