"""Diff parsing, reviewdog's filter modes, and fingerprints that survive line moves."""

from __future__ import annotations

from pathlib import Path

import pytest
from unidiff import PatchSet

from gates.config import FilterMode, Severity
from gates.diff import DiffIndex, FileStatus, keep
from gates.fingerprint import (
    LineReader,
    baseline_document,
    load_baseline,
    split_new,
    with_fingerprints,
)
from gates.model import Finding

DIFF = """\
diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -10,6 +10,7 @@ def f():
 line10
 line11
 line12
+added13
 line14
 line15
 line16
diff --git a/old.txt b/new.txt
similarity index 90%
rename from old.txt
rename to new.txt
index 3333333..4444444 100644
--- a/old.txt
+++ b/new.txt
@@ -1,2 +1,3 @@
 a
+b
 c
diff --git a/gone.py b/gone.py
deleted file mode 100644
index 5555555..0000000
--- a/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-x = 1
diff --git a/empty.py b/empty.py
new file mode 100644
index 0000000..e69de29
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..6666666
Binary files /dev/null and b/logo.png differ
"""


@pytest.fixture(scope="module")
def index() -> DiffIndex:
    return DiffIndex.from_patch(PatchSet(DIFF))


def test_statuses_paths_and_added_lines(index: DiffIndex) -> None:
    summary = {
        path: (f.status, f.old_path, sorted(f.added), f.hunks) for path, f in index.files.items()
    }

    assert summary == {
        "app.py": (FileStatus.MODIFIED, "app.py", [13], ((10, 16),)),
        "new.txt": (FileStatus.RENAMED, "old.txt", [2], ((1, 3),)),
        "gone.py": (FileStatus.DELETED, "gone.py", [], ()),
        "empty.py": (FileStatus.ADDED, None, [], ()),
        "logo.png": (FileStatus.ADDED, None, [], ()),
    }
    assert [f.path for f in index.present((".py",))] == ["app.py", "empty.py"]
    assert index.files["logo.png"].binary


def _at(path: str, start: int, end: int | None = None) -> Finding:
    return Finding(path, start, end or start, Severity.LOW, "R1", "m", "tool")


@pytest.mark.parametrize(
    ("finding", "kept"),
    [
        (_at("app.py", 13), {"added", "diff_context", "file", "nofilter"}),
        (_at("app.py", 11), {"diff_context", "file", "nofilter"}),
        (_at("app.py", 16), {"diff_context", "file", "nofilter"}),
        (_at("app.py", 17), {"file", "nofilter"}),
        (_at("app.py", 2), {"file", "nofilter"}),
        (_at("app.py", 5, 13), {"added", "diff_context", "file", "nofilter"}),
        (_at("app.py", 1, 9), {"file", "nofilter"}),
        (_at("new.txt", 2), {"added", "diff_context", "file", "nofilter"}),
        (_at("gone.py", 1), {"nofilter"}),
        (_at("untouched.py", 1), {"nofilter"}),
    ],
    ids=[
        "added-line",
        "context-line",
        "last-context-line",
        "just-after-hunk",
        "far-from-hunk",
        "range-reaching-added-line",
        "range-before-hunk",
        "renamed-file-added-line",
        "deleted-file",
        "file-not-in-diff",
    ],
)
def test_filter_modes(index: DiffIndex, finding: Finding, kept: set[str]) -> None:
    assert {mode.value for mode in FilterMode if keep(finding, index, mode)} == kept


def _write(root: Path, path: str, text: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)


def test_fingerprints_ignore_line_numbers_and_whitespace(tmp_path: Path) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    _write(base, "a.py", "x = eval(data)\n")
    _write(head, "a.py", "# moved down\n\n    x  =  eval(data)\n")

    (old,) = with_fingerprints([_at("a.py", 1)], LineReader(base))
    (new,) = with_fingerprints([_at("a.py", 3)], LineReader(head))

    assert old.fingerprint == new.fingerprint


def test_fingerprints_differ_by_rule_path_and_occurrence(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", "x()\nx()\n")
    _write(tmp_path, "b.py", "x()\n")
    findings = [_at("a.py", 1), _at("a.py", 2), _at("b.py", 1)]

    stamped = with_fingerprints(findings, LineReader(tmp_path))

    assert len({f.fingerprint for f in stamped}) == 3


def test_a_duplicated_line_counts_the_copy_on_the_added_line_as_new(tmp_path: Path) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    _write(base, "a.py", "a = 1\nrun(x)\n")
    _write(head, "a.py", "run(x)\na = 1\nrun(x)\n")  # the copy was added at line 1
    head_findings = [_at("a.py", 1), _at("a.py", 3)]

    diff = "--- a/a.py\n+++ b/a.py\n@@ -0,0 +1 @@\n+run(x)\n"

    new, old = split_new(
        head_findings,
        [_at("a.py", 2)],
        LineReader(head),
        LineReader(base),
        DiffIndex.from_patch(PatchSet(diff)),
    )

    assert [f.start_line for f in new] == [1]
    assert [f.start_line for f in old] == [3]


def test_baseline_round_trip_and_malformed_files(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", "x()\n")
    stamped = with_fingerprints([_at("a.py", 1)], LineReader(tmp_path))
    path = tmp_path / "baseline.json"
    path.write_text(__import__("json").dumps(baseline_document(stamped)))

    assert load_baseline(path) == {stamped[0].fingerprint}
    assert load_baseline(tmp_path / "missing.json") == frozenset()
    path.write_text('{"findings": "nope"}')
    with pytest.raises(ValueError, match="expected"):
        load_baseline(path)


def _finding(path: str, line: int, rule: str, message: str, tool: str = "tool") -> Finding:
    return Finding(path, line, line, Severity.LOW, rule, message, tool)


MATCH_BASE = """def login(client):
    client.auth("user", password="password123")


def other():
    return 1
"""


@pytest.mark.parametrize(
    ("head_text", "diff", "head", "base", "new_lines"),
    [
        (
            MATCH_BASE.replace('"user"', '"alice"'),
            '@@ -2 +2 @@\n-    client.auth("user", password="password123")\n'
            '+    client.auth("alice", password="password123")\n',
            [_finding("a.py", 2, "B106", "Possible hardcoded password: 'password123'")],
            [_finding("a.py", 2, "B106", "Possible hardcoded password: 'password123'")],
            [],
        ),
        (
            MATCH_BASE.replace("password123", "hunter2"),
            '@@ -2 +2 @@\n-    client.auth("user", password="password123")\n'
            '+    client.auth("user", password="hunter2")\n',
            [_finding("a.py", 2, "B106", "Possible hardcoded password: 'hunter2'")],
            [_finding("a.py", 2, "B106", "Possible hardcoded password: 'password123'")],
            [2],
        ),
        (
            MATCH_BASE.replace("def other():", "def renamed():"),
            "@@ -5 +5 @@\n-def other():\n+def renamed():\n",
            [_finding("a.py", 6, "R1", "m")],
            [_finding("a.py", 6, "R1", "m")],
            [],
        ),
        (
            MATCH_BASE.replace("    return 1", "    return 1 + 1"),
            "@@ -6 +6 @@\n-    return 1\n+    return 1 + 1\n",
            [_finding("a.py", 6, "E501", "Line too long (121 > 100)")],
            [_finding("a.py", 6, "E501", "Line too long (104 > 100)")],
            [],
        ),
        (
            MATCH_BASE.replace("    return 1", "    return 1 + 1"),
            "@@ -6 +6 @@\n-    return 1\n+    return 1 + 1\n",
            [_finding("a.py", 6, "B602", "shell=True", tool="bandit")],
            [_finding("a.py", 2, "B602", "shell=True", tool="bandit")],
            [6],
        ),
        (
            MATCH_BASE + "\n\ndef third():\n    return 1\n",
            "@@ -6,0 +7,4 @@\n+\n+\n+def third():\n+    return 1\n",
            [_finding("a.py", 6, "R1", "m"), _finding("a.py", 10, "R1", "m")],
            [_finding("a.py", 6, "R1", "m")],
            [10],
        ),
    ],
    ids=[
        "edited-line-same-finding",
        "edited-line-new-password",
        "scope-renamed-line-kept",
        "numbers-in-message",
        "same-rule-other-function",
        "copy-in-new-function",
    ],
)
def test_a_finding_is_new_only_without_a_match_at_base(
    tmp_path: Path,
    head_text: str,
    diff: str,
    head: list[Finding],
    base: list[Finding],
    new_lines: list[int],
) -> None:
    _write(tmp_path / "base", "a.py", MATCH_BASE)
    _write(tmp_path / "head", "a.py", head_text)
    changes = DiffIndex.from_patch(PatchSet(f"--- a/a.py\n+++ b/a.py\n{diff}"))

    new, old = split_new(
        head, base, LineReader(tmp_path / "head"), LineReader(tmp_path / "base"), changes
    )

    assert [f.start_line for f in new] == new_lines
    assert len(old) == len(head) - len(new_lines)
