"""L1 and L5 on real repositories: findings land on exactly the lines a change adds."""

from __future__ import annotations

import json

import pytest

from gates.config import GateLevel, load_defaults
from gates.model import Conclusion
from gates.report import to_check_run
from tests.gates.conftest import RUFF_SETTINGS, Repo, lines_of

L1, L5 = GateLevel.L1, GateLevel.L5

BAD = """import os
import subprocess

password = "hunter2hunter2"


def run(command):
    return subprocess.run(command, shell=True)
"""

LEGACY = '''"""Old code that already had problems."""

import subprocess

password = "letmein-legacy-2019"


def run(command):
    return subprocess.run(command, shell=True)
'''


def test_unused_import_password_and_shell_fail_on_exactly_their_lines(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"app/bad.py": BAD})

    results = repo.run()

    assert results[L1].conclusion is Conclusion.FAILURE
    assert lines_of(results[L1]) == {("app/bad.py", 1)}
    assert [f.rule for f in results[L1].new] == ["F401"]
    assert results[L5].conclusion is Conclusion.FAILURE
    assert lines_of(results[L5]) == {("app/bad.py", 4), ("app/bad.py", 8)}
    rules = {(f.start_line, f.rule) for f in results[L5].new}
    assert (8, "B602") in rules
    assert (4, "secret/secret-keyword") in rules


def test_ruff_fix_is_kept_as_a_line_replacement(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"app/bad.py": BAD})

    (finding,) = repo.run(levels=[L1])[L1].new

    assert finding.fix is not None
    assert (finding.fix.start_line, finding.fix.end_line) == (1, 1)
    assert finding.fix.replacement == ""  # the import line goes away


def test_old_findings_in_a_touched_file_are_summarised_not_failed(repo: Repo) -> None:
    repo.commit({"legacy.py": LEGACY})
    repo.branch("feature")
    # Lines move down: fingerprints do not depend on line numbers.
    moved = LEGACY.replace("import subprocess\n", 'import subprocess\n\nGREETING = "hello"\n', 1)
    repo.commit({"legacy.py": moved})

    results = repo.run()

    security = results[L5]
    assert security.conclusion is Conclusion.SUCCESS
    assert security.new == ()
    assert {f.start_line for f in security.preexisting} == {7, 11}
    plan = to_check_run(security)
    assert plan.title == f"No new findings ({len(security.preexisting)} pre-existing)"
    assert f"Pre-existing: {len(security.preexisting)}" in plan.summary
    assert plan.annotation_batches == ()
    assert results[L1].conclusion is Conclusion.SUCCESS


def test_a_later_commit_adding_one_finding_changes_exactly_one_annotation(repo: Repo) -> None:
    repo.branch("feature")
    first = repo.commit({"app/bad.py": BAD})
    second = repo.commit({"app/bad.py": BAD + "\n\ndef load(data):\n    return eval(data)\n"})

    def annotations(head: str) -> set[str]:
        plan = to_check_run(repo.run(head=head, levels=[L5])[L5])
        return {json.dumps(a, sort_keys=True) for batch in plan.annotation_batches for a in batch}

    before, after = annotations(first), annotations(second)

    assert before < after
    (added,) = after - before
    assert json.loads(added)["start_line"] == 12
    assert json.loads(added)["title"].startswith("B307")


def test_120_findings_render_120_annotations_in_batches_of_50(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"many.py": "".join(f"import module_{i}\n" for i in range(120))})

    plan = to_check_run(repo.run(levels=[L1])[L1])

    assert [len(batch) for batch in plan.annotation_batches] == [50, 50, 20]
    update = plan.completing_update()
    assert update["conclusion"] == "failure"
    assert len(update["output"]["annotations"]) == 50
    appended = plan.append_updates()
    assert [len(u["output"]["annotations"]) for u in appended] == [50, 20]
    assert all({"title", "summary"} <= set(u["output"]) for u in appended)
    lines = [a["start_line"] for b in plan.annotation_batches for a in b]
    assert sorted(lines) == list(range(1, 121))


def test_only_markdown_changes_are_not_applicable(repo: Repo) -> None:
    repo.branch("docs")
    repo.commit({"README.md": "# demo\n\nMore words.\n", "docs/guide.md": "# Guide\n"})

    results = repo.run()

    for level in (L1, L5):
        assert results[level].conclusion is Conclusion.NEUTRAL
        assert results[level].reason.startswith("not applicable: ")
        assert to_check_run(results[level]).title.startswith("Not applicable: ")


def test_a_secret_in_markdown_still_fails_security(repo: Repo) -> None:
    repo.branch("docs")
    repo.commit({"README.md": "# demo\n\nkey: AKIAZ3MSJV4WWQK7XB2P\n"})

    results = repo.run()

    assert results[L5].conclusion is Conclusion.FAILURE
    assert lines_of(results[L5]) == {("README.md", 3)}
    assert results[L1].conclusion is Conclusion.NEUTRAL


LEAK = 'AWS_KEY = "AKIAZ3MSJV4WWQK7XB2P"\n'


def _baseline_for(repo: Repo, head: str) -> str:
    fingerprints = [f.fingerprint for f in repo.run(head=head, levels=[L5])[L5].new]
    assert fingerprints
    entries = [{"fingerprint": fp} for fp in fingerprints]
    return json.dumps({"version": 1, "findings": entries})


def test_a_baseline_added_by_the_change_itself_does_not_suppress_its_secret(repo: Repo) -> None:
    repo.branch("leak")
    leak = repo.commit({"settings.py": LEAK})
    repo.commit({".techlead/baseline.json": _baseline_for(repo, leak)})

    security = repo.run(levels=[L5])[L5]

    assert security.conclusion is Conclusion.FAILURE
    assert security.suppressed == 0
    assert lines_of(security) == {("settings.py", 1)}


def test_a_baseline_on_the_base_branch_accepts_the_finding(repo: Repo) -> None:
    repo.branch("leak")
    leak = repo.commit({"settings.py": LEAK})
    baseline = _baseline_for(repo, leak)
    repo.git("checkout", "-q", "main")
    repo.commit({".techlead/baseline.json": baseline})

    security = repo.run(base="main", head="leak", levels=[L5])[L5]

    assert security.new == ()
    assert security.suppressed == 1
    assert security.conclusion is Conclusion.SUCCESS


def test_a_malformed_baseline_is_reported_and_ignored(repo: Repo) -> None:
    repo.commit({".techlead/baseline.json": "{not json"})
    repo.branch("leak")
    repo.commit({"settings.py": LEAK})

    security = repo.run(levels=[L5])[L5]

    assert security.conclusion is Conclusion.FAILURE
    assert any("baseline .techlead/baseline.json" in note for note in security.notes)


@pytest.mark.parametrize(
    ("filter_mode", "conclusion", "outside"),
    [
        ("added", Conclusion.SUCCESS, 1),
        ("diff_context", Conclusion.SUCCESS, 1),
        ("file", Conclusion.FAILURE, 0),
        ("nofilter", Conclusion.FAILURE, 0),
    ],
    ids=["added", "diff_context", "file", "nofilter"],
)
def test_filter_mode_decides_whether_a_finding_on_an_untouched_line_counts(
    repo: Repo, filter_mode: str, conclusion: Conclusion, outside: int
) -> None:
    filler = "".join(f"# note {i}\n" for i in range(10))  # keeps the import out of the hunk
    body = f"import json\n{filler}x = 1\n{filler}print(json.dumps(x))\n"
    repo.commit({"use.py": body})
    repo.branch("feature")
    # Removing the only use makes the untouched import line newly unused (F401).
    repo.commit({"use.py": body.replace("print(json.dumps(x))", "print(x)")})
    config = load_defaults().with_overrides({"lint": {"filter_mode": filter_mode}})

    lint = repo.run(config=config, levels=[L1])[L1]

    assert lint.conclusion is conclusion
    assert lint.outside_diff == outside


def test_a_renamed_file_keeps_its_old_findings_as_preexisting(repo: Repo) -> None:
    repo.commit({"legacy.py": LEGACY})
    repo.branch("feature")
    repo.git("mv", "legacy.py", "renamed.py")
    repo.commit({"renamed.py": LEGACY + "\nVALUE = 1\n"})

    security = repo.run(levels=[L5])[L5]

    assert security.new == ()
    assert {f.path for f in security.preexisting} == {"renamed.py"}
    assert security.conclusion is Conclusion.SUCCESS


def test_an_unreadable_ruff_configuration_fails_lint_saying_why(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"pyproject.toml": RUFF_SETTINGS + "bogus-key = 1\n", "ok.py": "X = 1\n"})

    lint = repo.run(levels=[L1])[L1]

    assert lint.conclusion is Conclusion.FAILURE
    # ruff's own reason, the version that ran, and no temporary path.
    assert lint.reason.startswith("could not run: ruff 0.")
    assert "refused the repository's configuration: Failed to parse pyproject.toml" in lint.reason
    assert "unknown field `bogus-key`" in lint.reason
    assert "/tmp" not in lint.reason and "techlead-gates-" not in lint.reason
    assert "Did not finish: could not run: ruff" in to_check_run(lint).title


def test_a_syntax_error_is_a_lint_finding_not_a_crash(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"broken.py": "X = 1\ndef f(:\n    pass\n"})

    lint = repo.run(levels=[L1])[L1]

    assert lint.conclusion is Conclusion.FAILURE
    assert {f.rule for f in lint.new} == {"invalid-syntax"}


def test_an_unformatted_added_line_is_a_finding_with_its_fix(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"style.py": "X = {  'a':1 }\n"})

    (finding,) = repo.run(levels=[L1])[L1].new

    assert (finding.rule, finding.start_line) == ("format", 1)
    assert finding.fix is not None
    assert finding.fix.replacement == 'X = {"a": 1}\n'


WORKFLOW = """name: greet
on: pull_request_target
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_a_workflow_with_template_injection_fails_security(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({".github/workflows/greet.yml": WORKFLOW})

    security = repo.run(levels=[L5])[L5]

    assert security.conclusion is Conclusion.FAILURE
    injection = [f for f in security.new if f.rule == "template-injection"]
    assert [(f.path, f.start_line, f.tool) for f in injection] == [
        (".github/workflows/greet.yml", 8, "zizmor")
    ]


def test_dependency_audit_without_network_completes_neutral_quickly(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"requirements.txt": "requests==2.19.0\nflask>=2\n"})

    security = repo.run(levels=[L5])[L5]

    assert security.conclusion is Conclusion.NEUTRAL
    assert "cannot be reached" in security.reason
    assert any("not audited (no exact version pinned): flask" in n for n in security.notes)
    assert security.duration_seconds < 10


def test_an_unreachable_audit_does_not_hide_a_real_failure(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"requirements.txt": "requests==2.19.0\n", "app/bad.py": BAD})

    security = repo.run(levels=[L5])[L5]

    assert security.conclusion is Conclusion.FAILURE
    assert any("cannot be reached" in n for n in security.notes)


def test_advisory_gate_completes_neutral_instead_of_failing(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"app/bad.py": BAD})
    config = load_defaults().with_overrides({"security": {"required": False}})

    security = repo.run(config=config, levels=[L5])[L5]

    assert security.conclusion is Conclusion.NEUTRAL
    assert security.new
    assert to_check_run(security).title.endswith("advisory")


def test_disabled_gate_does_not_run(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"app/bad.py": BAD})
    config = load_defaults().with_overrides({"lint": {"enabled": False}})

    ran = set(repo.run(config=config))
    assert L1 not in ran
    assert L5 in ran


def test_a_workflow_zizmor_cannot_parse_fails_security_saying_so(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit(
        {".github/workflows/broken.yml": "name: x\non: push\njobs:\n  a:\n    runs-on: [\n"}
    )

    security = repo.run(levels=[L5])[L5]

    assert security.conclusion is Conclusion.FAILURE
    assert security.reason.startswith("could not run: zizmor failed")
    assert "invalid YAML syntax" in security.reason


SUPPRESSED = """import os  # noqa: F401
import subprocess

API_KEY = "AKIAZ3MSJV4WWQK7XB2P"  # pragma: allowlist secret


def run(command):
    return subprocess.run(command, shell=True)  # nosec B602
"""


def test_inline_pragmas_suppress_findings_as_the_tools_define_them(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"quiet.py": SUPPRESSED})

    results = repo.run()

    assert results[L1].new == ()
    assert results[L5].new == ()
    assert results[L5].conclusion is Conclusion.SUCCESS
