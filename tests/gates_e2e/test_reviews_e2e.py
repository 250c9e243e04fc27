"""Reviewers end to end: a pull request gets one review per stream, anchored on its lines.

The sandbox refuses badly anchored review comments with GitHub's 422, so every review
that lands here anchored as GitHub would accept it. Pushes after the first add only what
is new, and a finding that goes away gets a "Fixed in" reply on its thread.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.features.reviews import texts
from bot.sandbox import Sandbox
from reviewers.model import Stream
from tests.gates_e2e.conftest import PullWorld, PullWorldFactory, TechLeadFactory
from tests.gates_e2e.test_integration_e2e import comment as post_comment
from tests.gates_e2e.test_integration_e2e import fork_world

pytestmark = pytest.mark.sandbox

# Bandit's own examples of unsafe calls (its test suite's shapes), an unused import and
# an AWS key in the documentation's example format.
VULNERABLE = """import os
import subprocess

import requests
import yaml

AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"


def load(path):
    with open(path) as stream:
        return yaml.load(stream)


def fetch(url):
    return requests.get(url, verify=False, timeout=5)


def run(user_input):
    return subprocess.call("ls " + user_input, shell=True)
"""
BASE = {"src/app/__init__.py": "", "tests/test_app.py": "def test_app():\n    assert True\n"}
FP = re.compile(r"fp=([0-9a-f]{16})")


def reviews(pw: PullWorld, number: int) -> list[dict[str, Any]]:
    """TechLead's stream reviews (a lone file comment or reply makes a review of its own,
    with an empty body, as on GitHub)."""
    found = pw.api("GET", f"/repos/{pw.repo}/pulls/{number}/reviews", params={"per_page": 100})
    return [review for review in found if "techlead:review-run" in review["body"]]


def review_comments(pw: PullWorld, number: int) -> list[dict[str, Any]]:
    return pw.api("GET", f"/repos/{pw.repo}/pulls/{number}/comments", params={"per_page": 100})


def stream_of(review: dict[str, Any]) -> str:
    found = re.search(r"techlead:review-run stream=([a-z-]+)", review["body"])
    assert found, review["body"]
    return found.group(1)


def summaries(pw: PullWorld, number: int) -> list[dict[str, Any]]:
    comments = pw.api("GET", f"/repos/{pw.repo}/issues/{number}/comments")
    return [c for c in comments if texts.SUMMARY_MARKER in c["body"]]


def test_a_vulnerable_pull_request_gets_one_review_per_stream_on_the_right_lines(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pw = pull_world_for(BASE)
    techlead = techlead_for(pw.world)
    sha = pw.push("feature", {"src/app/core.py": VULNERABLE}, "Add the core")
    number = pw.open_pull("feature")
    techlead.settle()

    posted = reviews(pw, number)
    assert sorted(stream_of(r) for r in posted) == sorted(s.value for s in Stream)
    assert all(r["commit_id"] == sha for r in posted)
    lines = {
        (c["path"], c.get("line"), FP.search(c["body"]) is not None)
        for c in review_comments(pw, number)
    }
    expected = {
        ("src/app/core.py", 1, True),  # F401 unused os
        ("src/app/core.py", 7, True),  # the AWS key
        ("src/app/core.py", 12, True),  # B506 yaml.load
        ("src/app/core.py", 16, True),  # B501 verify=False
        ("src/app/core.py", 20, True),  # B602 shell=True
    }
    assert expected <= lines, lines
    bodies = " ".join(c["body"] for c in review_comments(pw, number))
    assert "AKIAIOSFODNN7EXAMPLE" not in bodies, "a credential is never quoted back"
    (summary,) = summaries(pw, number)
    assert "| Security |" in summary["body"]
    # Gates finishing after the review bring the summary's gate line up to date.
    assert "TechLead L5 · Security: failure" in summary["body"], summary["body"]

    # An unrelated push: nothing new is posted, the summary is edited in place.
    before = len(review_comments(pw, number))
    pw.push("feature", {"docs/notes.txt": "notes\n"}, "Notes")
    techlead.settle()
    assert len(review_comments(pw, number)) == before
    assert len(summaries(pw, number)) == 1

    # Fixing the yaml.load finding: its thread gets one "Fixed in" reply.
    fixed = VULNERABLE.replace("yaml.load(stream)", "yaml.safe_load(stream)")
    new_sha = pw.push("feature", {"src/app/core.py": fixed}, "Load safely")
    techlead.settle()
    replies = [c for c in review_comments(pw, number) if c.get("in_reply_to_id")]
    assert [r["body"].split(" <!--")[0] for r in replies] == [f"Fixed in {new_sha[:7]}."]
    assert len(review_comments(pw, number)) == before + 1


def test_eighty_findings_give_thirty_inline_comments_and_the_rest_in_the_body(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pw = pull_world_for(BASE)
    techlead = techlead_for(pw.world)
    many = "".join(f"import module_{n}\n" for n in range(80))
    files = {"src/app/many.py": many, "tests/test_many.py": "def test_many():\n    pass\n"}
    pw.push("many", files, "Many imports")
    number = pw.open_pull("many")
    techlead.settle()

    (code,) = [r for r in reviews(pw, number) if stream_of(r) == Stream.CODE.value]
    inline = [c for c in review_comments(pw, number) if c["pull_request_review_id"] == code["id"]]
    assert len(inline) == 30
    assert "50 more finding(s)" in code["body"]


def test_every_suggestion_applies_cleanly_and_passes_ruff(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory, tmp_path: Path
) -> None:
    source = "import os\nimport sys\n\n\ndef argv():\n    return sys.argv\n"
    pw = pull_world_for(BASE)
    techlead = techlead_for(pw.world)
    pw.push("fixable", {"src/app/fixable.py": source}, "Fixable")
    number = pw.open_pull("fixable")
    techlead.settle()

    text = source.splitlines(keepends=True)
    suggested = [c for c in review_comments(pw, number) if "```suggestion" in c["body"]]
    assert suggested, "ruff's safe fix is offered"
    for comment in sorted(suggested, key=lambda c: -c["line"]):
        block = re.search(r"(`{3,})suggestion\n(.*?)\1", comment["body"], re.S)
        assert block is not None
        start = comment.get("start_line") or comment["line"]
        text[start - 1 : comment["line"]] = [block.group(2)]
    result = tmp_path / "fixed.py"
    result.write_text("".join(text))
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "F", str(result)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout


# ------------------------------------------------------------------ refine, explain, ignore

UNUSED = 'import os\nimport sys\n\n\ndef argv():\n    """The arguments."""\n    return sys.argv\n'


def thread_of(pw: PullWorld, number: int, rule: str) -> dict[str, Any]:
    found = [
        c
        for c in review_comments(pw, number)
        if f"rule={rule} " in c["body"] and not c.get("in_reply_to_id")
    ]
    assert len(found) == 1, [c["body"][:80] for c in review_comments(pw, number)]
    return found[0]


def replies_to(pw: PullWorld, number: int, thread: int) -> list[str]:
    return [c["body"] for c in review_comments(pw, number) if c.get("in_reply_to_id") == thread]


def file_at(pw: PullWorld, ref: str, path: str) -> str:
    import base64

    data = pw.api("GET", f"/repos/{pw.repo}/contents/{path}", params={"ref": ref})
    return base64.b64decode(data["content"]).decode()


def test_refine_on_the_pull_request_commits_the_suggested_fixes(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pw = pull_world_for(BASE)
    techlead = techlead_for(pw.world)
    pw.push(
        "refine-me", {"src/app/tool.py": UNUSED, "tests/test_tool.py": "def test():\n    pass\n"}
    )
    number = pw.open_pull("refine-me")
    techlead.settle()
    assert thread_of(pw, number, "F401")

    pw.api("POST", f"/repos/{pw.repo}/issues/{number}/comments", json={"body": "/techlead refine"})
    techlead.settle()

    head = pw.api("GET", f"/repos/{pw.repo}/pulls/{number}")["head"]["sha"]
    assert file_at(pw, head, "src/app/tool.py").startswith("import sys\n")
    commit = pw.api("GET", f"/repos/{pw.repo}/commits/{head}")
    assert "TechLead-Refine:" in commit["commit"]["message"]
    answers = [c["body"] for c in pw.api("GET", f"/repos/{pw.repo}/issues/{number}/comments")]
    assert any("Applied 1 suggested fix(es) in" in a for a in answers), answers
    # The refined head was reviewed again: the F401 thread got its "Fixed in" reply.
    thread = thread_of(pw, number, "F401")["id"]
    assert any(r.startswith(f"Fixed in {head[:7]}.") for r in replies_to(pw, number, thread))


def test_explain_and_ignore_in_a_thread(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pw = pull_world_for(BASE)
    techlead = techlead_for(pw.world)
    pw.push("talk", {"src/app/tool.py": UNUSED, "tests/test_tool.py": "def test():\n    pass\n"})
    number = pw.open_pull("talk")
    techlead.settle()
    thread = thread_of(pw, number, "F401")["id"]
    url = f"/repos/{pw.repo}/pulls/{number}/comments/{thread}/replies"

    pw.api("POST", url, json={"body": "/techlead explain"})
    techlead.settle()
    (explained,) = [r for r in replies_to(pw, number, thread) if r.startswith("**F401**")]
    assert "import" in explained.lower()

    pw.api("POST", url, json={"body": "/techlead ignore re-exported for plugins"})
    techlead.settle()
    head = pw.api("GET", f"/repos/{pw.repo}/pulls/{number}")["head"]["sha"]
    baseline = json.loads(file_at(pw, head, ".techlead/baseline.json"))
    (entry,) = baseline["findings"]
    assert (entry["rule"], entry["reason"], entry["by"]) == (
        "F401",
        "re-exported for plugins",
        pw.world.user.login,
    )
    assert any(r.startswith("Recorded as reviewed") for r in replies_to(pw, number, thread))
    fixed = [r for r in replies_to(pw, number, thread) if r.startswith("Fixed in")]
    assert fixed == [], "an ignored finding is not raised again, nor reported fixed"


def test_in_token_mode_the_summary_shows_the_gates_statuses(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pw = pull_world_for(BASE, app=False)
    techlead = techlead_for(pw.world)
    pw.push("token", {"src/app/tool.py": UNUSED, "tests/test_tool.py": "def test():\n    pass\n"})
    number = pw.open_pull("token")
    techlead.settle()

    (summary,) = summaries(pw, number)
    assert "**Gates:** TechLead L1 · Lint: " in summary["body"], summary["body"]


@pytest.mark.parametrize(
    "allowed", [True, False], ids=["maintainers-may-edit", "edits-not-allowed"]
)
def test_refine_on_a_fork_needs_edits_by_maintainers(
    sandbox: Sandbox,
    pull_world_for: PullWorldFactory,
    techlead_for: TechLeadFactory,
    tmp_path: Path,
    allowed: bool,
) -> None:
    pw = pull_world_for(BASE)
    techlead = techlead_for(pw.world)
    fork = fork_world(sandbox, pw, tmp_path)
    try:
        head = fork.push(
            {"src/app/tool.py": UNUSED, "tests/test_tool.py": "def test():\n    pass\n"}
        )
        upstream = fork.client.get_repo(pw.repo)
        pull = upstream.create_pull(
            base="main",
            head=f"{fork.login}:patch-1",
            title="From a fork",
            body="",
            maintainer_can_modify=allowed,
        )
        techlead.settle()

        post_comment(pw, pull.number, "/techlead refine", pw.world.user.token)
        techlead.settle()

        tip = pw.api("GET", f"/repos/{fork.login}/{pw.repo.split('/')[1]}/branches/patch-1")
        answers = [
            c["body"] for c in pw.api("GET", f"/repos/{pw.repo}/issues/{pull.number}/comments")
        ]
        if allowed:
            assert tip["commit"]["sha"] != head, "the fix landed on the fork's branch"
            assert any("Applied 1 suggested fix(es) in" in a for a in answers), answers
        else:
            assert tip["commit"]["sha"] == head
            assert any("does not allow edits by maintainers" in a for a in answers), answers
    finally:
        fork.client.close()


def test_a_task_pull_request_is_refined_once_per_push(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pw = pull_world_for(BASE)
    techlead = techlead_for(pw.world)
    source = "def total(items):\n    return sum(items)\n"
    branch = "techlead/9/T1-totals"
    pw.push(
        branch, {"src/app/totals.py": source, "tests/test_totals.py": "def test():\n    pass\n"}
    )
    opened = pw.as_app(
        "POST", f"/repos/{pw.repo}/pulls", json={"title": "T1", "head": branch, "base": "main"}
    )
    techlead.settle()

    commits = pw.api("GET", f"/repos/{pw.repo}/pulls/{opened['number']}/commits")
    messages = [c["commit"]["message"] for c in commits]
    assert len(messages) == 2, "one refine commit, and the refined head is not refined again"
    assert "TechLead-Refine: auto" in messages[-1]
    head = commits[-1]["sha"]
    assert '"""Describe what total does."""' in file_at(pw, head, "src/app/totals.py")
