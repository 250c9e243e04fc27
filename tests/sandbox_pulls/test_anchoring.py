"""Where a review comment may sit: a table written by hand from GitHub's documentation.

The sandbox is the oracle here; this module imports nothing from TechLead itself.
Rules (https://docs.github.com/en/rest/pulls/comments#create-a-review-comment-for-a-pull-request
and https://docs.github.com/en/rest/pulls/reviews#create-a-review-for-a-pull-request):

- ``side: RIGHT`` (the default) names a line of the new file: an added line or a
  context line; ``side: LEFT`` a line of the old file: a removed line or a context line.
- The line must be part of the diff: a line outside every hunk is refused.
- ``start_line``/``start_side`` open a range that must lie in the same hunk as ``line``
  and come before it.
- ``position`` (closing down) counts lines below the file's first ``@@``; the ``@@`` of
  later hunks count too.
- ``subject_type: file`` comments on a whole file of the diff.
- A path that is not part of the diff cannot be resolved.

The pull request's diff (``values.py`` has 60 lines ``value_N = N``; the head changes
line 3, inserts ``extra`` after line 5, deletes lines 25-34 and appends two lines;
``notes.md`` is a new file)::

    @@ -1,8 +1,9 @@          position  old new
     value_1 = 1                  1      1   1
     value_2 = 2                  2      2   2
    -value_3 = 3                  3      3   -
    +value_3 = 300                4      -   3
     value_4 = 4                  5      4   4
     value_5 = 5                  6      5   5
    +extra = 5.5                  7      -   6
     value_6 = 6                  8      6   7
     value_7 = 7                  9      7   8
     value_8 = 8                 10      8   9
    @@ -22,16 +23,6 @@          11
     value_22 = 22               12     22  23
     ... value_23, value_24      13-14  23-24 24-25
    -value_25 = 25 ... value_34  15-24  25-34  -
     value_35 = 35 ... value_37  25-27  35-37 26-28
    @@ -58,3 +49,5 @@          28
     value_58 ... value_60       29-31  58-60 49-51
    +tail_1 = 61, tail_2 = 62    32-33   -   52-53
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.sandbox import Sandbox
from tests.conftest import build_world

pytestmark = pytest.mark.sandbox

BASE = "".join(f"value_{i} = {i}\n" for i in range(1, 61))
HEAD_LINES = [f"value_{i} = {i}" for i in range(1, 61)]
HEAD_LINES[2] = "value_3 = 300"
HEAD_LINES.insert(5, "extra = 5.5")
del HEAD_LINES[25:35]  # old lines 25..34 (shifted by the insertion)
HEAD = "\n".join([*HEAD_LINES, "tail_1 = 61", "tail_2 = 62"]) + "\n"
NOTES = "# Notes\n\nNew file.\n"


class Problem(enum.Enum):
    NONE = "accepted"
    OFF_DIFF = "line is not part of the diff"
    OTHER_HUNK = "start line is not in the line's hunk"
    START_AFTER = "start line does not precede the line"
    PATH = "path is not part of the diff"
    POSITION = "position is not a line of the diff"


# GitHub's wording, per endpoint: the review endpoint joins sentences into one string;
# the single-comment endpoint reports the failing field.
REVIEW_TEXT = {
    Problem.OFF_DIFF: "Pull request review thread line must be part of the diff and "
    "Pull request review thread diff hunk can't be blank",
    Problem.OTHER_HUNK: "Pull request review thread start line must be part of the same "
    "hunk as the line.",
    Problem.START_AFTER: "Pull request review thread start line must precede the end line.",
    Problem.PATH: "Path could not be resolved",
    Problem.POSITION: "Pull request review thread position is invalid and "
    "Pull request review thread diff hunk can't be blank",
}
COMMENT_FIELD = {
    Problem.OFF_DIFF: "pull_request_review_thread.line",
    Problem.OTHER_HUNK: "pull_request_review_thread.start_line",
    Problem.START_AFTER: "pull_request_review_thread.start_line",
    Problem.PATH: "pull_request_review_thread.path",
    Problem.POSITION: "pull_request_review_thread.position",
}


@dataclass(frozen=True)
class Row:
    id: str
    anchor: dict[str, Any]
    problem: Problem
    placed: tuple[int | None, str | None] | None = None  # expected (position, side)


ROWS = [
    Row("added-line-right", {"line": 3, "side": "RIGHT"}, Problem.NONE, (4, "RIGHT")),
    Row("inserted-line-right", {"line": 6, "side": "RIGHT"}, Problem.NONE, (7, "RIGHT")),
    Row("context-line-right", {"line": 4, "side": "RIGHT"}, Problem.NONE, (5, "RIGHT")),
    Row("context-line-left", {"line": 4, "side": "LEFT"}, Problem.NONE, (5, "LEFT")),
    Row("removed-line-left", {"line": 3, "side": "LEFT"}, Problem.NONE, (3, "LEFT")),
    Row("removed-line-left-second-hunk", {"line": 30, "side": "LEFT"}, Problem.NONE, (20, "LEFT")),
    Row("side-defaults-to-right", {"line": 9}, Problem.NONE, (10, "RIGHT")),
    Row("appended-line-right", {"line": 53, "side": "RIGHT"}, Problem.NONE, (33, "RIGHT")),
    Row("left-on-an-added-line", {"line": 52, "side": "LEFT"}, Problem.OFF_DIFF),
    Row("right-on-a-removed-line", {"line": 30, "side": "RIGHT"}, Problem.OFF_DIFF),
    Row("line-between-hunks", {"line": 40, "side": "RIGHT"}, Problem.OFF_DIFF),
    Row("line-far-outside-the-file", {"line": 500, "side": "RIGHT"}, Problem.OFF_DIFF),
    Row(
        "range-inside-one-hunk",
        {"start_line": 2, "start_side": "RIGHT", "line": 6, "side": "RIGHT"},
        Problem.NONE,
        (7, "RIGHT"),
    ),
    Row(
        "range-from-removed-to-added-line",
        {"start_line": 3, "start_side": "LEFT", "line": 3, "side": "RIGHT"},
        Problem.NONE,
        (4, "RIGHT"),
    ),
    Row(
        "range-of-removed-lines",
        {"start_line": 25, "start_side": "LEFT", "line": 30, "side": "LEFT"},
        Problem.NONE,
        (20, "LEFT"),
    ),
    Row(
        "range-start-side-defaults-to-side",
        {"start_line": 23, "line": 25, "side": "RIGHT"},
        Problem.NONE,
        (14, "RIGHT"),
    ),
    Row(
        "range-across-hunks",
        {"start_line": 8, "start_side": "RIGHT", "line": 24, "side": "RIGHT"},
        Problem.OTHER_HUNK,
    ),
    Row(
        "range-starting-outside-the-diff",
        {"start_line": 15, "start_side": "RIGHT", "line": 23, "side": "RIGHT"},
        Problem.OTHER_HUNK,
    ),
    Row(
        "range-start-after-line",
        {"start_line": 6, "start_side": "RIGHT", "line": 2, "side": "RIGHT"},
        Problem.START_AFTER,
    ),
    Row(
        "range-start-equal-to-line",
        {"start_line": 4, "start_side": "RIGHT", "line": 4, "side": "RIGHT"},
        Problem.START_AFTER,
    ),
    Row("legacy-position", {"position": 4}, Problem.NONE, (4, "RIGHT")),
    Row("legacy-position-of-removed-line", {"position": 15}, Problem.NONE, (15, "LEFT")),
    Row("legacy-position-on-a-hunk-header", {"position": 11}, Problem.POSITION),
    Row("legacy-position-past-the-diff", {"position": 34}, Problem.POSITION),
    Row(
        "new-file-line",
        {"path": "notes.md", "line": 1, "side": "RIGHT"},
        Problem.NONE,
        (1, "RIGHT"),
    ),
    Row("new-file-left-side", {"path": "notes.md", "line": 1, "side": "LEFT"}, Problem.OFF_DIFF),
    Row(
        "file-level-comment",
        {"path": "notes.md", "subject_type": "file"},
        Problem.NONE,
        (None, "RIGHT"),
    ),
    Row("unknown-path", {"path": "missing.py", "line": 1, "side": "RIGHT"}, Problem.PATH),
    Row("unchanged-file", {"path": "README.md", "line": 1, "side": "RIGHT"}, Problem.PATH),
    Row(
        "file-level-on-unchanged-file", {"path": "README.md", "subject_type": "file"}, Problem.PATH
    ),
]


@dataclass(frozen=True)
class Pull:
    api: str
    full_name: str
    number: int
    head_sha: str
    headers: dict[str, str]

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        url = f"{self.api}/repos/{self.full_name}/pulls/{self.number}{path}"
        return httpx.post(url, json=body, headers=self.headers, timeout=30)


def _put_file(api: str, full_name: str, headers: dict[str, str], path: str, text: str) -> None:
    url = f"{api}/repos/{full_name}/contents/{path}"
    found = httpx.get(url, params={"ref": "feature"}, headers=headers, timeout=30)
    body = {
        "message": f"Change {path}",
        "content": base64.b64encode(text.encode()).decode(),
        "branch": "feature",
    }
    if found.status_code == 200:
        body["sha"] = found.json()["sha"]
    httpx.put(url, json=body, headers=headers, timeout=30).raise_for_status()


@pytest.fixture(scope="module")
def pull(sandbox_session: Sandbox, app_key: tuple[str, str]) -> Iterator[Pull]:
    """One pull request with the diff drawn in the module docstring."""
    api = sandbox_session.api_url
    world = build_world(
        sandbox_session, api, app_key, files={"README.md": "# Project\n", "values.py": BASE}
    )
    headers = {"Authorization": f"token {world.user.token}"}
    full_name = world.repo.full_name
    base = httpx.get(f"{api}/repos/{full_name}/git/ref/heads/main", headers=headers).json()
    httpx.post(
        f"{api}/repos/{full_name}/git/refs",
        json={"ref": "refs/heads/feature", "sha": base["object"]["sha"]},
        headers=headers,
    ).raise_for_status()
    _put_file(api, full_name, headers, "values.py", HEAD)
    _put_file(api, full_name, headers, "notes.md", NOTES)
    opened = httpx.post(
        f"{api}/repos/{full_name}/pulls",
        json={"title": "Values", "head": "feature", "base": "main"},
        headers=headers,
    )
    opened.raise_for_status()
    data = opened.json()
    yield Pull(api, full_name, data["number"], data["head"]["sha"], headers)
    world.user_gh.close()
    world.app_gh.close()


def _comment(row: Row, pull: Pull) -> dict[str, Any]:
    return {"path": "values.py", "body": f"about {row.id}"} | row.anchor


def test_the_diff_is_the_one_the_table_was_written_for(sandbox: Sandbox, pull: Pull) -> None:
    url = f"{pull.api}/repos/{pull.full_name}/pulls/{pull.number}/files"
    files = {f["filename"]: f for f in httpx.get(url, headers=pull.headers).json()}
    headers = [row for row in files["values.py"]["patch"].split("\n") if row.startswith("@@")]
    assert [h.split(" @@")[0] + " @@" for h in headers] == [
        "@@ -1,8 +1,9 @@",
        "@@ -22,16 +23,6 @@",
        "@@ -58,3 +49,5 @@",
    ]
    assert files["notes.md"]["status"] == "added"


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_single_review_comment(sandbox: Sandbox, pull: Pull, row: Row) -> None:
    answer = pull.post("/comments", _comment(row, pull) | {"commit_id": pull.head_sha})

    if row.problem is Problem.NONE:
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert (body.get("position"), body["side"]) == row.placed
        assert body.get("line") == row.anchor.get("line", body.get("line"))
        assert body["subject_type"] == row.anchor.get("subject_type", "line")
        assert body["commit_id"] == body["original_commit_id"] == pull.head_sha
        return
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["message"] == "Validation Failed"
    assert COMMENT_FIELD[row.problem] in {error.get("field") for error in body["errors"]}


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_review_with_one_inline_comment(sandbox: Sandbox, pull: Pull, row: Row) -> None:
    answer = pull.post(
        "/reviews", {"event": "COMMENT", "body": row.id, "comments": [_comment(row, pull)]}
    )

    if row.problem is Problem.NONE:
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "COMMENTED"
        return
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"] == "Unprocessable Entity"
    assert answer.json()["errors"] == [REVIEW_TEXT[row.problem]]


def test_one_bad_comment_rejects_the_whole_review(sandbox: Sandbox, pull: Pull) -> None:
    url = f"{pull.api}/repos/{pull.full_name}/pulls/{pull.number}"
    before_reviews = len(httpx.get(f"{url}/reviews", headers=pull.headers).json())
    before_comments = len(httpx.get(f"{url}/comments", headers=pull.headers).json())
    good = {"path": "values.py", "line": 3, "side": "RIGHT", "body": "fine"}
    bad = {"path": "values.py", "line": 40, "side": "RIGHT", "body": "off the diff"}

    answer = pull.post("/reviews", {"event": "COMMENT", "body": "two", "comments": [good, bad]})

    assert answer.status_code == 422
    assert answer.json()["errors"] == [REVIEW_TEXT[Problem.OFF_DIFF]]
    assert len(httpx.get(f"{url}/reviews", headers=pull.headers).json()) == before_reviews
    assert len(httpx.get(f"{url}/comments", headers=pull.headers).json()) == before_comments


def test_diff_hunk_ends_with_the_commented_line(sandbox: Sandbox, pull: Pull) -> None:
    answer = pull.post(
        "/comments",
        {
            "path": "values.py",
            "line": 6,
            "side": "RIGHT",
            "body": "why?",
            "commit_id": pull.head_sha,
        },
    )

    hunk = answer.json()["diff_hunk"].split("\n")
    assert hunk[0].startswith("@@ -1,8 +1,9 @@")
    assert hunk[-1] == "+extra = 5.5"
