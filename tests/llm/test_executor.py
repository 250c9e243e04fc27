"""The llm executor: a scripted model reads, patches, tests and finishes in a real git
worktree; budgets stop it; paths outside the worktree are refused."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from agents.executors.base import Budget, Outcome, WorkOrder
from agents.executors.handoff import HandoffExecutor
from agents.executors.llm import LLMExecutor, patch_paths, usage_line
from agents.executors.registry import executor_for
from bot.llm import ModelConfig
from tests.llm.conftest import API_KEY, Served
from tests.support.gitcli import GitCli
from tests.support.openai_stub import Scripted, server_error, tool

ORDER = WorkOrder(
    repo="acme/calc",
    issue_number=3,
    issue_title="add() subtracts",
    task_id="T1",
    title="Fix add() in calc.py",
    agent="backend-developer",
    priority="high",
    files=("calc.py",),
)
BUGGY = "def add(a, b):\n    return a - b\n"
FIX = """\
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
TEST_COMMAND = f"{sys.executable} -m pytest -q -p no:cacheprovider test_calc.py"


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    root = tmp_path / "calc"
    root.mkdir()
    (root / "calc.py").write_text(BUGGY)
    (root / "test_calc.py").write_text(TESTS)
    git = GitCli(tmp_path / "home")
    git.run("init", "-q", "-b", "main", cwd=root)
    git.run("add", ".", cwd=root)
    git.run("commit", "-q", "-m", "calc", cwd=root)
    return root


def executor(served: Served) -> LLMExecutor:
    env = {"PATH": os.environ["PATH"]}
    return LLMExecutor(served.client(max_retries=0), test_command=TEST_COMMAND, base_env=env)


def tool_results(served: Served) -> list[str]:
    """What the tools answered, as the model saw it in its last request."""
    messages = served.stub.requests[-1]["messages"]
    return [m["content"] for m in messages if m["role"] == "tool"]


def test_a_scripted_tool_loop_reads_patches_tests_and_finishes(
    served: Served, worktree: Path
) -> None:
    served.stub.push(
        tool("read_file", path="calc.py"),
        tool("search", text="def add"),
        tool("apply_patch", patch=FIX),
        tool("run_tests"),
        tool("finish", summary="add() adds again."),
    )
    result = executor(served).run(ORDER, worktree, Budget(seconds=120), {})
    assert result.outcome is Outcome.CHANGED, result.summary
    assert result.summary == "add() adds again."
    assert (worktree / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert result.handoff is not None and result.handoff.changed_files == ("calc.py",)
    read, found, applied, tested = tool_results(served)
    assert "2:     return a - b" in read
    assert "calc.py:1: def add(a, b):" in found
    assert applied == "applied: calc.py"
    assert "exit status 0" in tested and "1 passed" in tested
    usage = result.usage
    assert (usage["iterations"], usage["tool_calls"], usage["test_runs"]) == (5, 5, 1)
    assert usage["tokens"] > 0 and usage["seconds"] > 0
    line = usage_line(usage, Budget(seconds=120))
    assert line.startswith(f"Model: {int(usage['tokens']):,} tokens")
    assert "5 of 25 iterations, 5 tool calls, 1 test runs." in line
    sent = served.stub.requests[0]
    assert {t["function"]["name"] for t in sent["tools"]} >= {"apply_patch", "run_tests"}
    assert "Fix add() in calc.py" in sent["messages"][1]["content"]


def test_the_iteration_budget_fails_the_task_with_the_reason(
    served: Served, worktree: Path
) -> None:
    served.stub.push(*[tool("list_files")] * 5)
    result = executor(served).run(ORDER, worktree, Budget(seconds=60, max_iterations=3), {})
    assert result.outcome is Outcome.FAILED
    assert result.summary == (
        "stopped after 3 model calls without finishing (the iteration budget)"
    )
    assert result.usage["iterations"] == 3
    assert len(served.stub.requests) == 3


def test_the_token_budget_fails_the_task(served: Served, worktree: Path) -> None:
    served.stub.push(tool("list_files"), tool("list_files"))
    result = executor(served).run(ORDER, worktree, Budget(seconds=60, max_tokens=50), {})
    assert result.outcome is Outcome.FAILED
    assert result.summary.startswith("stopped after") and "over the budget of 50" in result.summary


def test_a_failing_model_fails_the_task(served: Served, worktree: Path) -> None:
    served.stub.push(server_error(500))
    result = executor(served).run(ORDER, worktree, Budget(seconds=60), {})
    assert result.outcome is Outcome.FAILED
    assert result.summary.startswith("the model failed: HTTP 500")


OUTSIDE_PATCHES = {
    "parent-dir": "--- a/../escaped.txt\n+++ b/../escaped.txt\n@@ -0,0 +1 @@\n+pwned\n",
    "absolute": "--- /dev/null\n+++ /tmp/escaped.txt\n@@ -0,0 +1 @@\n+pwned\n",
    "git-dir": "--- a/.git/hooks/pre-commit\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+x\n",
}


@pytest.mark.parametrize("patch", OUTSIDE_PATCHES.values(), ids=OUTSIDE_PATCHES.keys())
def test_a_patch_outside_the_worktree_is_refused(
    served: Served, worktree: Path, patch: str
) -> None:
    served.stub.push(tool("apply_patch", patch=patch), tool("finish", summary="tried"))
    result = executor(served).run(ORDER, worktree, Budget(seconds=60), {})
    (refusal,) = tool_results(served)
    assert refusal.startswith("error: refused:") and "outside the worktree" in refusal
    assert result.outcome is Outcome.NO_CHANGE
    assert not (worktree.parent / "escaped.txt").exists()
    assert not (worktree / ".git" / "hooks" / "pre-commit").exists()


def test_reading_outside_the_worktree_is_refused(served: Served, worktree: Path) -> None:
    (worktree.parent / "secret.txt").write_text("s3cret")
    served.stub.push(tool("read_file", path="../secret.txt"), tool("finish", summary="no"))
    executor(served).run(ORDER, worktree, Budget(seconds=60), {})
    (answer,) = tool_results(served)
    assert "refused" in answer and "s3cret" not in answer


def test_a_patch_that_does_not_apply_changes_nothing(served: Served, worktree: Path) -> None:
    wrong = FIX.replace("return a - b", "return a * b")
    served.stub.push(tool("apply_patch", patch=wrong), Scripted(content="I give up."))
    result = executor(served).run(ORDER, worktree, Budget(seconds=60), {})
    (answer,) = tool_results(served)
    assert answer.startswith("the patch did not apply")
    assert (worktree / "calc.py").read_text() == BUGGY
    assert result.outcome is Outcome.NO_CHANGE and result.summary == "I give up."


def test_patch_paths_strip_the_diff_prefixes() -> None:
    assert patch_paths(FIX) == ["calc.py"]
    with pytest.raises(ValueError, match="not a unified diff"):
        patch_paths("just words\n")


def test_the_registry_resolves_llm_to_the_model_executor(served: Served) -> None:
    config = ModelConfig(served.base_url, "stub-model", api_key=API_KEY)
    assert isinstance(executor_for("llm", "backend-developer", model=config), LLMExecutor)
    env = {"TECHLEAD_LLM_BASE_URL": served.base_url, "TECHLEAD_LLM_MODEL": "stub-model"}
    assert isinstance(executor_for("llm", "backend-developer", base_env=env), LLMExecutor)
    assert isinstance(executor_for("llm", "backend-developer", base_env={}), HandoffExecutor)
