"""From comments to one review per stream: the cap, no repeats, "Fixed in" replies."""

from __future__ import annotations

from pathlib import Path

from gates.config import Severity
from reviewers.anchor import Placement
from reviewers.model import Comment, Stream
from reviewers.publish import MAX_INLINE, Event, Posted, build, fixed_replies, marker
from tests.reviewers.conftest import review_input

SHA = "c" * 40


def finding(line: int, severity: Severity = Severity.LOW, rule: str = "R1") -> Comment:
    return Comment(
        Stream.CODE,
        rule,
        "src/a.py",
        line,
        f"title {line}",
        "body",
        severity,
        snippet=f"code {line}",
    )


def changed_file(tmp_path: Path, lines: int = 100):  # type: ignore[no-untyped-def]
    text = "".join(f"x{n} = {n}\n" for n in range(1, lines + 1))
    return review_input(tmp_path, {"src/a.py": ""}, {"src/a.py": text}).diff


def test_eighty_findings_give_thirty_inline_and_the_rest_in_the_body(tmp_path: Path) -> None:
    diff = changed_file(tmp_path)
    comments = [finding(n, Severity.HIGH if n > 70 else Severity.LOW) for n in range(1, 81)]
    review = build(Stream.CODE, SHA, diff, comments, [])
    assert review is not None and len(review.inline) == MAX_INLINE
    assert [i.comment.line for i in review.inline[:10]] == list(range(71, 81)), "severe first"
    assert "50 more finding(s)" in review.body
    assert all(f"`src/a.py:{n}`" not in review.body for n in range(71, 81))
    assert review.event is Event.COMMENT


def test_what_is_already_posted_is_not_posted_again(tmp_path: Path) -> None:
    diff = changed_file(tmp_path)
    first = build(Stream.CODE, SHA, diff, [finding(3), finding(5)], [])
    assert first is not None
    posted = [Posted(i, inline.body) for i, inline in enumerate(first.inline, start=1)]
    assert build(Stream.CODE, "d" * 40, diff, [finding(3), finding(5)], posted) is None
    again = build(Stream.CODE, "d" * 40, diff, [finding(3), finding(9)], posted)
    assert again is not None and [i.comment.line for i in again.inline] == [9]


def test_a_gone_finding_gets_one_fixed_reply(tmp_path: Path) -> None:
    posted = [Posted(1, f"x {marker(finding(3))}"), Posted(2, f"y {marker(finding(5))}")]
    replies = fixed_replies(Stream.CODE, "abc1234", [finding(5)], posted)
    assert [(r.to, r.body.split(" <!--")[0]) for r in replies] == [(1, "Fixed in abc1234.")]
    answered = [*posted, Posted(3, replies[0].body, in_reply_to=1)]
    assert fixed_replies(Stream.CODE, "abc1234", [finding(5)], answered) == []
    assert fixed_replies(Stream.SECURITY, "abc1234", [], posted) == [], "another stream's"


def test_request_changes_only_when_asked_and_blocking(tmp_path: Path) -> None:
    diff = changed_file(tmp_path)
    blocking = Comment(
        Stream.SECURITY, "B602", "src/a.py", 4, "t", "b", Severity.HIGH, snippet="s", blocking=True
    )
    asked = build(Stream.SECURITY, SHA, diff, [blocking], [], request_changes=True)
    not_asked = build(Stream.SECURITY, SHA, diff, [blocking], [])
    assert asked is not None and asked.event is Event.REQUEST_CHANGES
    assert not_asked is not None and not_asked.event is Event.COMMENT


def test_off_diff_findings_go_to_the_file_or_the_body(tmp_path: Path) -> None:
    inp = review_input(
        tmp_path,
        {"src/a.py": "".join(f"a{n} = 1\n" for n in range(40)), "src/b.py": "b = 1\n"},
        {"src/a.py": "".join(f"a{n} = {2 if n == 0 else 1}\n" for n in range(40))},
    )
    far = Comment(Stream.CODE, "R", "src/a.py", 30, "far", "b", snippet="far")
    other = Comment(Stream.CODE, "R", "src/b.py", 1, "other file", "b", snippet="other")
    review = build(Stream.CODE, SHA, inp.diff, [far, other], [])
    assert review is not None
    assert [(i.anchor.placement, i.comment.title) for i in review.inline] == [
        (Placement.FILE, "far")
    ]
    assert "`src/b.py:1` other file" in review.body


def test_suggestions_apply_cleanly_at_their_anchored_lines(tmp_path: Path) -> None:
    text = "import os\nimport sys\n\nprint(sys.argv)\n"
    inp = review_input(tmp_path, {}, {"src/a.py": text})
    fix = Comment(
        Stream.CODE, "F401", "src/a.py", 1, "unused", "b", end_line=1, suggestion="", snippet="os"
    )
    review = build(Stream.CODE, SHA, inp.diff, [fix], [])
    assert review is not None
    (inline,) = review.inline
    assert "```suggestion\n```" in inline.body
    fields = inline.api()
    lines = text.splitlines(keepends=True)
    start = int(fields.get("start_line") or fields["line"])  # type: ignore[call-overload]
    applied = "".join(lines[: start - 1]) + "" + "".join(lines[int(fields["line"]) :])  # type: ignore[call-overload]
    assert applied == "import sys\n\nprint(sys.argv)\n"
