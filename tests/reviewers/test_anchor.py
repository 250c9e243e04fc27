"""Anchoring over real ``git diff`` output, checked against the sandbox's GitHub rules.

Each scenario is a real repository change (multiple hunks, a rename with edits, a
deletion, an added file, no newline at the end, a binary file). For every line and
many ranges, where :class:`reviewers.anchor.Diff` places a comment inline, the
sandbox's independent implementation of GitHub's review rules must accept it; and
every single line the sandbox would accept is placed inline (nothing is pushed to the
file level that could have sat on its line).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.sandbox import diffs as github_rules
from reviewers.anchor import Anchor, Diff, Placement, Side, suggestion

Scenario = Callable[[Path], None]
LINES = [f"line {n}\n" for n in range(1, 61)]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return done.stdout.decode()


def write(repo: Path, path: str, text: str | bytes) -> None:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        file.write_bytes(text)
    else:
        file.write_text(text)


def multi_hunk(repo: Path) -> None:
    changed = list(LINES)
    changed[4] = "line 5 changed\n"
    changed.insert(30, "inserted\n")
    del changed[50]
    write(repo, "src/app.py", "".join(changed))


def renamed_and_edited(repo: Path) -> None:
    git(repo, "mv", "src/app.py", "src/core.py")
    changed = list(LINES)
    changed[20] = "line 21 edited\n"
    write(repo, "src/core.py", "".join(changed))


def deleted(repo: Path) -> None:
    git(repo, "rm", "-q", "src/app.py")


def added(repo: Path) -> None:
    write(repo, "src/new.py", "".join(LINES[:12]))


def no_newline_at_end(repo: Path) -> None:
    write(repo, "notes.txt", "first\nsecond\nthird changed")


def binary(repo: Path) -> None:
    write(repo, "logo.png", bytes(range(256)) * 3)


SCENARIOS: dict[str, Scenario] = {
    "multiple-hunks": multi_hunk,
    "rename-with-edits": renamed_and_edited,
    "deleted-file": deleted,
    "added-file": added,
    "no-newline-at-end": no_newline_at_end,
    "binary": binary,
}


def repository(tmp_path: Path, change: Scenario) -> tuple[str, list[github_rules.FileDiff]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "Dev")
    write(repo, "src/app.py", "".join(LINES))
    write(repo, "notes.txt", "first\nsecond\nthird")
    write(repo, "logo.png", bytes(range(256)) * 2)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    change(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "head")
    options = ["--no-color", "--no-ext-diff", "-M", "--no-textconv"]
    names = github_rules.parse_name_status(
        subprocess.run(
            ["git", "-C", str(repo), "diff", "--name-status", "-z", *options, "HEAD~1", "HEAD"],
            check=True,
            capture_output=True,
        ).stdout
    )
    text = git(repo, "diff", *options, "HEAD~1", "HEAD")
    sections = github_rules.split_git_diff(text)
    files = [
        github_rules.file_diff(path, previous, letter, section)
        for (letter, path, previous), section in zip(names, sections, strict=True)
    ]
    return text, files


def accepted(files: list[github_rules.FileDiff], anchor: Anchor) -> bool:
    fields = anchor.api_fields()
    request = github_rules.Request(
        path=str(fields["path"]),
        line=fields.get("line"),  # type: ignore[arg-type]
        side=fields.get("side"),  # type: ignore[arg-type]
        start_line=fields.get("start_line"),  # type: ignore[arg-type]
        start_side=fields.get("start_side"),  # type: ignore[arg-type]
        position=None,
        subject_type=fields.get("subject_type"),  # type: ignore[arg-type]
    )
    try:
        github_rules.anchor(files, request)
    except github_rules.AnchorError:
        return False
    return True


def single_line_ok(files: list[github_rules.FileDiff], path: str, line: int, side: Side) -> bool:
    return accepted(files, Anchor(Placement.LINE, path, line, side))


@pytest.mark.parametrize("name", SCENARIOS, ids=list(SCENARIOS))
def test_every_inline_anchor_is_one_github_accepts(tmp_path: Path, name: str) -> None:
    text, files = repository(tmp_path, SCENARIOS[name])
    diff = Diff.parse(text)
    assert {file.path for file in files} == set(diff.files)
    for file in files:
        for side in Side:
            for line in range(1, 64):
                for span in (0, 1, 3, 40):
                    anchor = diff.place(file.path, line, line + span, side)
                    assert anchor.placement is not Placement.BODY
                    assert accepted(files, anchor), (name, anchor)
                    if anchor.start_line is not None:
                        assert anchor.start_line < anchor.line  # type: ignore[operator]
                if single_line_ok(files, file.path, line, side):
                    assert diff.place(file.path, line, side=side).placement is Placement.LINE


def test_a_file_outside_the_diff_goes_to_the_body(tmp_path: Path) -> None:
    text, _ = repository(tmp_path, multi_hunk)
    assert Diff.parse(text).place("README.md", 3).placement is Placement.BODY


def test_a_renamed_file_is_found_by_its_old_path_too(tmp_path: Path) -> None:
    text, _ = repository(tmp_path, renamed_and_edited)
    anchor = Diff.parse(text).place("src/app.py", 21)
    assert (anchor.placement, anchor.path, anchor.line) == (Placement.LINE, "src/core.py", 21)


def test_exact_ranges_for_suggestions_stay_inside_one_hunk(tmp_path: Path) -> None:
    text, files = repository(tmp_path, multi_hunk)
    diff = Diff.parse(text)
    inside = diff.place_exact("src/app.py", 4, 6)
    assert inside is not None and (inside.start_line, inside.line) == (4, 6)
    assert accepted(files, inside)
    assert diff.place_exact("src/app.py", 5, 29) is None, "spans two hunks"
    assert diff.place_exact("src/app.py", 15, 15) is None, "not shown in the diff"


def test_an_unreadable_diff_places_nothing_inline() -> None:
    assert Diff.parse("@@ nonsense\n+x\n").place("a.py", 1).placement is Placement.BODY


@pytest.mark.parametrize(
    ("code", "fence"),
    [("x = 1\n", "```"), ("s = '```'\n", "````"), ("a = '`````'\n", "``````"), ("", "```")],
    ids=["plain", "three-backticks", "five-backticks", "empty-deletes"],
)
def test_suggestion_fences_are_longer_than_any_backtick_run(code: str, fence: str) -> None:
    block = suggestion(code)
    assert block.startswith(f"{fence}suggestion\n") and block.endswith(f"\n{fence}")
    assert block[len(fence) + len("suggestion\n") : -len(fence)] == code
