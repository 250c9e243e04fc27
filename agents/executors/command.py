"""``command:<program>``: any coding agent or script, run in the task's worktree.

The work order is written to a file outside the worktree and passed three ways: its
path in ``TECHLEAD_WORK_ORDER`` (and in place of ``{work_order}`` in the arguments), its
text on standard input. Documented invocations::

    command:aider --message-file {work_order} --yes-always --no-auto-commits --no-pretty
    command:openhands --headless --json -f {work_order} --override-with-envs
    command:codex exec -s workspace-write --skip-git-repo-check -
    command:claude -p --output-format json --permission-mode acceptEdits

The process runs in its own process group with a minimal environment: no GitHub
credentials (or anything named like a secret) ever reach it. Past its time limit the
whole group is killed. Its output is redacted and truncated before anyone sees it.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from agents.executors import outbox
from agents.executors.base import Budget, ExecutionResult, Handoff, Outcome, WorkOrder

MAX_LOG_CHARS = 4000
_PASSED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TERM", "VIRTUAL_ENV", "PYTHONPATH")
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PRIVATE|CREDENTIAL|(^|_)KEY($|_)|^GH_|^GITHUB_")
_SECRET_VALUE = re.compile(
    r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|"
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|"
    r"(?i:authorization:\s*\w+\s+)\S+)"
)


def safe_environment(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``base``'s harmless variables and ``extra``, minus anything named like a secret."""
    env = {name: base[name] for name in _PASSED if name in base}
    env.update(extra)
    return {name: value for name, value in env.items() if not _SECRET_NAME.search(name.upper())}


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if len(secret) >= 6:
            text = text.replace(secret, "***")
    return _SECRET_VALUE.sub("***", text)


def truncate(text: str, limit: int = MAX_LOG_CHARS) -> str:
    """The end of ``text`` (where errors are), marked when cut."""
    if len(text) <= limit:
        return text
    return "[… output truncated …]\n" + text[-limit:]


def order_env(order: WorkOrder, path: Path, worktree: Path) -> dict[str, str]:
    return {
        "TECHLEAD_WORK_ORDER": str(path),
        "TECHLEAD_TASK_ID": order.task_id,
        "TECHLEAD_TASK_TITLE": order.title,
        "TECHLEAD_PLAN": f"{order.repo}#{order.issue_number}",
        "TECHLEAD_REPO": order.repo,
        "TECHLEAD_ISSUE": str(order.issue_number),
        "TECHLEAD_AGENT": order.agent,
        "TECHLEAD_WORKTREE": str(worktree),
        "TECHLEAD_OUTBOX": str(worktree / outbox.OUTBOX),
    }


class CommandExecutor:
    """Runs ``argv`` (the part after ``command:``) for one task."""

    name = "command"

    def __init__(
        self,
        command: str,
        *,
        base_env: Mapping[str, str] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.argv = shlex.split(command)
        self._base_env = os.environ if base_env is None else base_env
        self._should_stop = should_stop or (lambda: False)

    def run(
        self, order: WorkOrder, worktree: Path, budget: Budget, env: Mapping[str, str]
    ) -> ExecutionResult:
        with tempfile.TemporaryDirectory(prefix="techlead-order-") as folder:
            path = Path(folder) / "TASK.md"
            path.write_text(order.to_markdown(), encoding="utf-8")
            argv = [arg.replace("{work_order}", str(path)) for arg in self.argv]
            full_env = safe_environment(self._base_env, {**env, **order_env(order, path, worktree)})
            started = time.monotonic()
            code, output, ended = _run(
                argv, worktree, full_env, path, budget.seconds, self._should_stop
            )
            seconds = time.monotonic() - started
        log = truncate(redact(output, tuple(env.values())))
        messages, report = outbox.collect(worktree, order.task_id)
        usage = {"seconds": round(seconds, 3)}
        if ended is not Ended.EXITED:
            summary = ENDED[ended].format(seconds=budget.seconds)
            return ExecutionResult(Outcome.FAILED, summary, log, usage=usage)
        if code != 0:
            return ExecutionResult(Outcome.FAILED, f"exited with status {code}", log, usage=usage)
        handoff = Handoff(
            order.task_id, report.summary, interfaces=report.interfaces, notes=report.notes
        )
        return ExecutionResult(
            Outcome.CHANGED,
            report.summary or f"`{self.argv[0]}` finished",
            log,
            handoff=handoff,
            messages=messages,
            new_tasks=report.new_tasks,
            usage=usage,
        )


class Ended(enum.Enum):
    EXITED = "exited"
    TIMED_OUT = "timed_out"
    STOPPED = "stopped"


ENDED = {
    Ended.TIMED_OUT: "timed out after {seconds:g}s; the process group was killed",
    Ended.STOPPED: "stopped: the plan was cancelled; the process group was killed",
}
POLL_SECONDS = 0.5


def _run(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    order: Path,
    seconds: float,
    should_stop: Callable[[], bool],
) -> tuple[int, str, Ended]:
    """Run in a new process group; kill the group past ``seconds``, when ``should_stop``
    says so, and when it exits (so nothing it started in the background outlives it).
    Output goes to a file, never a pipe: a leftover child holding a pipe open would hold
    the executor too."""
    output = order.with_name("output.log")
    with order.open("rb") as stdin, output.open("wb") as out:
        try:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=stdin,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return 127, f"cannot start {argv[0]}: {exc.strerror or exc}", Ended.EXITED
        ended = _wait(process, time.monotonic() + seconds, should_stop)
        _kill_group(process.pid)
        code = process.wait()
    text = output.read_bytes()[-MAX_LOG_CHARS * 4 :].decode("utf-8", "replace")
    return (-9 if ended is not Ended.EXITED else code), text, ended


def _wait(
    process: subprocess.Popen[bytes], deadline: float, should_stop: Callable[[], bool]
) -> Ended:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return Ended.TIMED_OUT
        try:
            process.wait(timeout=min(left, POLL_SECONDS))
            return Ended.EXITED
        except subprocess.TimeoutExpired:
            if should_stop():
                return Ended.STOPPED


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
