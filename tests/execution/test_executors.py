"""The command and hand-off executors, the outbox and the registry, with real processes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from agents.executors.base import Budget, MessageKind, Outcome, WorkOrder
from agents.executors.command import CommandExecutor, redact, safe_environment, truncate
from agents.executors.handoff import HandoffExecutor
from agents.executors.registry import executor_for

ORDER = WorkOrder(
    repo="shop/app",
    issue_number=7,
    issue_title="Coupons",
    task_id="T2",
    title="Store coupons",
    agent="coder",
    priority="high",
    files=("src/shop/coupons.py",),
)
SECRETS = {
    "TECHLEAD_GITHUB_TOKEN": "ghs_" + "a" * 36,
    "GITHUB_TOKEN": "ghp_" + "b" * 36,
    "TECHLEAD_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----x-----END RSA PRIVATE KEY-----",
    "AWS_SECRET_ACCESS_KEY": "hunter2hunter2",
    "PATH": "/usr/bin:/bin",
    "HOME": "/root",
}


def script(tmp_path: Path, code: str) -> str:
    path = tmp_path / "agent.py"
    path.write_text(code)
    return f"{sys.executable} {path}"


def test_the_command_gets_the_work_order_three_ways_and_no_credentials(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    command = script(
        tmp_path,
        "import json, os, sys\n"
        "order = open(os.environ['TECHLEAD_WORK_ORDER']).read()\n"
        "assert sys.stdin.read() == order == open(sys.argv[1]).read()\n"
        "json.dump(dict(os.environ), open('env.json', 'w'))\n",
    )
    executor = CommandExecutor(f"{command} {{work_order}}", base_env=SECRETS)
    result = executor.run(ORDER, tree, Budget(seconds=30), {"EXTRA": "1", "GH_TOKEN": "x"})

    assert result.outcome is Outcome.CHANGED, result.log
    env = json.loads((tree / "env.json").read_text())
    assert env["TECHLEAD_TASK_ID"] == "T2" and env["TECHLEAD_PLAN"] == "shop/app#7"
    assert env["TECHLEAD_WORKTREE"] == str(tree) and env["EXTRA"] == "1"
    assert not {"TECHLEAD_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"} & set(env)
    assert not {"TECHLEAD_PRIVATE_KEY", "AWS_SECRET_ACCESS_KEY"} & set(env)


def test_past_its_limit_the_process_group_is_killed(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open('child.pid', 'w').write(str(child.pid))\n"
        "print('working', flush=True)\n"
        "time.sleep(60)\n",
    )
    started = time.monotonic()
    result = CommandExecutor(command).run(ORDER, tmp_path, Budget(seconds=1), {})

    assert time.monotonic() - started < 10
    assert result.outcome is Outcome.FAILED
    assert result.summary == "timed out after 1s; the process group was killed"
    assert "working" in result.log
    pid = int((tmp_path / "child.pid").read_text())
    assert gone(pid), "the background child outlived its agent"


def gone(pid: int, wait: float = 5.0) -> bool:
    """SIGKILL is delivered asynchronously: give the kernel a moment."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_should_stop_kills_a_running_command(tmp_path: Path) -> None:
    command = script(tmp_path, "import time\ntime.sleep(60)\n")
    deadline = time.monotonic() + 1
    executor = CommandExecutor(command, should_stop=lambda: time.monotonic() > deadline)
    result = executor.run(ORDER, tmp_path, Budget(seconds=60), {})
    assert result.outcome is Outcome.FAILED and result.summary.startswith("stopped")


@pytest.mark.parametrize(
    ("code", "summary"),
    [
        ("import sys\nsys.exit(3)\n", "exited with status 3"),
        ("raise SystemExit('boom')\n", "exited with status 1"),
    ],
    ids=["exit-code", "crash"],
)
def test_a_failing_command_fails_the_attempt(tmp_path: Path, code: str, summary: str) -> None:
    result = CommandExecutor(script(tmp_path, code)).run(ORDER, tmp_path, Budget(), {})
    assert (result.outcome, result.summary) == (Outcome.FAILED, summary)


def test_a_missing_program_fails_with_its_name(tmp_path: Path) -> None:
    result = CommandExecutor("no-such-agent-program --x").run(ORDER, tmp_path, Budget(), {})
    assert result.outcome is Outcome.FAILED and "cannot start no-such-agent-program" in result.log


def test_output_is_redacted_and_truncated(tmp_path: Path) -> None:
    token = "ghp_" + "c" * 36
    code = f"print('token {token}')\nprint('x' * 20000)\nprint('the end')\n"
    result = CommandExecutor(script(tmp_path, code)).run(ORDER, tmp_path, Budget(), {})
    assert token not in result.log and result.log.endswith("the end\n")
    assert result.log.startswith("[… output truncated …]")
    assert redact("Authorization: token abc123", ()) == "***"
    assert redact("value s3cr3tvalue here", ("s3cr3tvalue",)) == "value *** here"
    assert truncate("short") == "short"


def test_the_outbox_is_read_and_never_left_in_the_worktree(tmp_path: Path) -> None:
    code = (
        "import json, pathlib\n"
        "box = pathlib.Path('.techlead'); box.mkdir()\n"
        "(box / 'messages.json').write_text(json.dumps([\n"
        "  {'to': 'T3', 'kind': 'warning', 'text': 'totals are in cents'},\n"
        "  {'to': 'T4', 'kind': 'shouting', 'text': 'dropped'}, 'junk']))\n"
        "(box / 'report.json').write_text(json.dumps({'summary': 'stored', "
        "'interfaces': ['GET /coupons'], 'new_tasks': ['Index coupons', 5]}))\n"
    )
    result = CommandExecutor(script(tmp_path, code)).run(ORDER, tmp_path, Budget(), {})
    assert not (tmp_path / ".techlead").exists()
    assert [(m.to, m.kind, m.sender) for m in result.messages] == [
        ("T3", MessageKind.WARNING, "T2")
    ]
    assert result.summary == "stored" and result.new_tasks == ("Index coupons",)
    assert result.handoff is not None and result.handoff.interfaces == ("GET /coupons",)


def test_safe_environment_keeps_only_harmless_names() -> None:
    env = safe_environment(SECRETS, {"TECHLEAD_TASK_ID": "T1", "MY_API_KEY": "k"})
    assert env == {"PATH": "/usr/bin:/bin", "HOME": "/root", "TECHLEAD_TASK_ID": "T1"}


@pytest.mark.parametrize(
    ("spec", "kind", "reason"),
    [
        ("command:aider --message-file {work_order}", CommandExecutor, None),
        ("handoff", HandoffExecutor, ""),
        ("llm", HandoffExecutor, "no model is configured for the llm executor"),
        ("builtin", HandoffExecutor, "no built-in agent does made-up-agent's work"),
    ],
    ids=["command", "handoff", "llm-not-configured", "builtin-missing"],
)
def test_registry(spec: str, kind: type, reason: str | None) -> None:
    executor = executor_for(spec, "made-up-agent")
    assert isinstance(executor, kind)
    if isinstance(executor, HandoffExecutor):
        assert executor.reason == reason
        result = executor.run(ORDER, Path("."), Budget(), {})
        assert result.outcome is Outcome.HANDOFF
    else:
        assert executor.argv == ["aider", "--message-file", "{work_order}"]


def test_builtin_specialists_resolve_to_their_built_in_agents() -> None:
    builtin = pytest.importorskip("agents.builtin", reason="the built-in agents are not installed")
    names = sorted(builtin.BUILTINS)
    assert names, "agents.builtin exposes no BUILTINS"
    pinned: list[tuple[str, str]] = []
    executor = executor_for("builtin", names[0], resolve_action=lambda r, ref: pinned and None)
    assert not isinstance(executor, HandoffExecutor)
