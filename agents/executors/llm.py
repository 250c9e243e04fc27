"""``llm``: an OpenAI-compatible model doing a task through a bounded tool loop in the worktree.

The model is given the work order and five tools, all confined to the task's worktree:
``read_file``, ``list_files``, ``search`` (a literal text search, bounded), ``apply_patch``
(a unified diff, checked path by path, then applied with ``git apply``) and
``run_tests`` (the repository's test command under a time limit), plus ``finish`` to
say it is done. A reply without tool calls also ends the loop.

Three budgets bound it, from :class:`Budget`: iterations (model calls), tokens and
seconds. Running out of any fails the task with the reason; the usage (tokens, seconds,
iterations, tool calls) is reported in ``ExecutionResult.usage`` either way, so the pull
request can show what the task cost. Like every executor it never commits or pushes:
TechLead checks the change against policy and commits it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from agents.executors.base import Budget, ExecutionResult, Handoff, Outcome, WorkOrder
from agents.executors.command import redact, safe_environment, truncate
from bot.errors import ModelError
from bot.llm import ModelClient, ModelConfig, Reply, Tool, ToolCall, Usage, tool_result

DEFAULT_MAX_ITERATIONS = 25
DEFAULT_MAX_TOKENS = 200_000
DEFAULT_TEST_COMMAND = "python -m pytest -q -x"
TEST_SECONDS = 300.0
MAX_READ_CHARS = 20_000
MAX_LIST_ENTRIES = 400
MAX_SEARCH_HITS = 50
MAX_SEARCH_FILE_BYTES = 1_000_000
MAX_TOOL_OUTPUT = 6_000
SKIPPED_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox"})

# Text in the result people see on the pull request.
NO_SUMMARY = "the model finished without a summary"
OUT_OF_ITERATIONS = "stopped after {n} model calls without finishing (the iteration budget)"
OUT_OF_TOKENS = "stopped after {used} tokens, over the budget of {limit}"
OUT_OF_TIME = "stopped after {seconds:g}s without finishing (the time budget)"
STOPPED = "stopped: the plan was cancelled"
MODEL_FAILED = "the model failed: {error}"
OUTSIDE = "refused: `{path}` is outside the worktree"
NOT_A_FILE = "no such file: `{path}`"
UNKNOWN_TOOL = "no tool named `{name}`; use one of {names}"

SYSTEM_PROMPT = """You are a software engineer doing one task in a git worktree. \
Use the tools to look at the code, change it with apply_patch (a unified diff with \
paths relative to the repository root, as `git diff` prints them), and run_tests to check \
your change. Change only what the task needs. When the task is done, call finish with a \
one-paragraph summary of what you changed."""


USAGE_LINE = (
    "Model: {tokens:,} tokens ({prompt:,} in, {completion:,} out), {seconds:.1f} s, "
    "{iterations} of {max_iterations} iterations, {tool_calls} tool calls, {test_runs} test runs."
)


def usage_line(usage: Mapping[str, float], budget: Budget | None = None) -> str:
    """The llm executor's ``ExecutionResult.usage`` as one line for the task's pull request."""
    limit = (budget.max_iterations if budget else None) or DEFAULT_MAX_ITERATIONS
    return USAGE_LINE.format(
        tokens=int(usage.get("tokens", 0)),
        prompt=int(usage.get("prompt_tokens", 0)),
        completion=int(usage.get("completion_tokens", 0)),
        seconds=float(usage.get("seconds", 0.0)),
        iterations=int(usage.get("iterations", 0)),
        max_iterations=limit,
        tool_calls=int(usage.get("tool_calls", 0)),
        test_runs=int(usage.get("test_runs", 0)),
    )


class ChatModel(Protocol):
    """What the executor needs of :class:`bot.llm.ModelClient`."""

    @property
    def config(self) -> ModelConfig: ...

    def chat(self, messages: Any, *, tools: Any = (), timeout: float | None = None) -> Reply: ...


def _schema(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


_TEXT = {"type": "string"}
TOOLS = (
    Tool(
        "read_file",
        "Read a text file of the repository, optionally from a 1-based line.",
        _schema({"path": _TEXT, "start_line": {"type": "integer"}}, ("path",)),
    ),
    Tool("list_files", "List the files under a directory.", _schema({"path": _TEXT})),
    Tool(
        "search",
        "Find lines containing a literal text, optionally under a directory.",
        _schema({"text": _TEXT, "path": _TEXT}, ("text",)),
    ),
    Tool("apply_patch", "Apply a unified diff.", _schema({"patch": _TEXT}, ("patch",))),
    Tool("run_tests", "Run the tests; returns the exit status and output.", _schema({})),
    Tool("finish", "Say the task is done.", _schema({"summary": _TEXT}, ("summary",))),
)  # fmt: skip


@dataclass
class _Session:
    """One run's running totals."""

    deadline: float
    usage: Usage = field(default_factory=Usage)
    iterations: int = 0
    tool_calls: int = 0
    test_runs: int = 0
    changed: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def report(self) -> dict[str, float]:
        return {
            **self.usage.as_dict(),
            "iterations": self.iterations,
            "tool_calls": self.tool_calls,
            "test_runs": self.test_runs,
        }


class LLMExecutor:
    """Does a task with a model (``ModelConfig``, or any client with ``chat``)."""

    name = "llm"

    def __init__(
        self,
        model: ModelConfig | ChatModel,
        *,
        test_command: str = DEFAULT_TEST_COMMAND,
        base_env: Mapping[str, str] | None = None,
        should_stop: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model: ChatModel = ModelClient(model) if isinstance(model, ModelConfig) else model
        self.test_command = test_command
        self._base_env = os.environ if base_env is None else base_env
        self._should_stop = should_stop or (lambda: False)
        self._clock = clock

    def run(
        self, order: WorkOrder, worktree: Path, budget: Budget, env: Mapping[str, str]
    ) -> ExecutionResult:
        started = self._clock()
        session = _Session(deadline=started + budget.seconds)
        tools = Toolbox(worktree, self.test_command, safe_environment(self._base_env, env))
        messages: list[Any] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": order.to_markdown()},
        ]
        outcome, summary = self._loop(session, tools, messages, budget)
        session.usage = Usage(
            session.usage.prompt_tokens,
            session.usage.completion_tokens,
            round(self._clock() - started, 3),
            session.usage.calls,
            session.usage.retries,
        )
        if outcome is Outcome.CHANGED and not session.changed:
            outcome = Outcome.NO_CHANGE
        log = truncate(redact("\n".join(session.log), tuple(env.values())))
        handoff = Handoff(order.task_id, summary, changed_files=tuple(session.changed))
        return ExecutionResult(outcome, summary, log, handoff=handoff, usage=session.report())

    def _loop(
        self, session: _Session, tools: Toolbox, messages: list[Any], budget: Budget
    ) -> tuple[Outcome, str]:
        limit = budget.max_iterations or DEFAULT_MAX_ITERATIONS
        tokens = budget.max_tokens or DEFAULT_MAX_TOKENS
        while session.iterations < limit:
            if self._should_stop():
                return Outcome.FAILED, STOPPED
            left = session.deadline - self._clock()
            if left <= 0:
                return Outcome.FAILED, OUT_OF_TIME.format(seconds=budget.seconds)
            session.iterations += 1
            try:
                reply = self.model.chat(messages, tools=TOOLS, timeout=left)
            except ModelError as exc:
                return Outcome.FAILED, MODEL_FAILED.format(error=str(exc)[:300])
            session.usage = session.usage + reply.usage
            if session.usage.total_tokens > tokens:
                return Outcome.FAILED, OUT_OF_TOKENS.format(
                    used=session.usage.total_tokens, limit=tokens
                )
            messages.append(reply.as_message())
            finished = self._act(session, tools, messages, reply)
            if finished is not None:
                return Outcome.CHANGED, finished
        return Outcome.FAILED, OUT_OF_ITERATIONS.format(n=limit)

    def _act(
        self, session: _Session, tools: Toolbox, messages: list[Any], reply: Reply
    ) -> str | None:
        """Run the reply's tool calls; the summary when the model is done, else None."""
        if not reply.tool_calls:
            return reply.content.strip() or NO_SUMMARY
        summary = None
        for call in reply.tool_calls:
            session.tool_calls += 1
            if call.name == "finish":
                summary = _argument(call, "summary") or reply.content.strip() or NO_SUMMARY
                messages.append(tool_result(call, "ok"))
                continue
            left = max(0.0, session.deadline - self._clock())
            result = tools.run(call, left)
            session.test_runs += call.name == "run_tests"
            session.changed.extend(p for p in tools.applied if p not in session.changed)
            session.log.append(f"$ {call.name} {call.arguments[:200]}\n{result[:500]}")
            messages.append(tool_result(call, result))
        return summary


def _argument(call: ToolCall, name: str) -> str:
    try:
        return str(call.parsed().get(name) or "").strip()
    except ModelError:
        return ""


class Toolbox:
    """The tools, each confined to ``root``; every result is text for the model."""

    def __init__(self, root: Path, test_command: str, env: Mapping[str, str]) -> None:
        self.root = root.resolve()
        self.test_command = test_command
        self.env = dict(env)
        self.applied: list[str] = []

    def run(self, call: ToolCall, seconds_left: float) -> str:
        handlers: dict[str, Callable[[dict[str, Any]], str]] = {
            "read_file": self.read_file,
            "list_files": self.list_files,
            "search": self.search,
            "apply_patch": self.apply_patch,
            "run_tests": lambda _: self.run_tests(seconds_left),
        }
        handler = handlers.get(call.name)
        if handler is None:
            return UNKNOWN_TOOL.format(name=call.name, names=", ".join(handlers))
        try:
            return handler(call.parsed())[:MAX_TOOL_OUTPUT]
        except (ModelError, OutsideWorktree, OSError, ValueError) as exc:
            return f"error: {exc}"

    def inside(self, path: str) -> Path:
        """``path`` resolved within the worktree; raises OutsideWorktree otherwise."""
        candidate = (self.root / path).resolve()
        if PurePosixPath(path).is_absolute() or not candidate.is_relative_to(self.root):
            raise OutsideWorktree(OUTSIDE.format(path=path))
        if ".git" in candidate.relative_to(self.root).parts:
            raise OutsideWorktree(OUTSIDE.format(path=path))
        return candidate

    def read_file(self, args: dict[str, Any]) -> str:
        path = self.inside(str(args.get("path", "")))
        if not path.is_file():
            return NOT_A_FILE.format(path=args.get("path"))
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        start = max(1, int(args.get("start_line") or 1))
        numbered = [f"{n}: {line}" for n, line in enumerate(lines[start - 1 :], start)]
        text = "\n".join(numbered)
        return text if len(text) <= MAX_READ_CHARS else text[:MAX_READ_CHARS] + "\n[… cut]"

    def list_files(self, args: dict[str, Any]) -> str:
        base = self.inside(str(args.get("path") or "."))
        found = [str(path.relative_to(self.root)) for path in self._files(base)]
        more = "\n[… more files]" if len(found) >= MAX_LIST_ENTRIES else ""
        return "\n".join(found) + more

    def search(self, args: dict[str, Any]) -> str:
        text = str(args.get("text") or "")
        if not text:
            return "error: give the text to search for"
        base = self.inside(str(args.get("path") or "."))
        hits: list[str] = []
        for path in self._files(base):
            if path.stat().st_size > MAX_SEARCH_FILE_BYTES:
                continue
            content = path.read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(content.splitlines(), 1):
                if text in line:
                    hits.append(f"{path.relative_to(self.root)}:{number}: {line.strip()[:200]}")
                    if len(hits) >= MAX_SEARCH_HITS:
                        return "\n".join(hits) + "\n[… more matches]"
        return "\n".join(hits) or "no matches"

    def _files(self, base: Path) -> list[Path]:
        found: list[Path] = []
        for folder, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                found.append(Path(folder) / name)
                if len(found) >= MAX_LIST_ENTRIES:
                    return found
        return found

    def apply_patch(self, args: dict[str, Any]) -> str:
        patch = str(args.get("patch") or "")
        if not patch.endswith("\n"):
            patch += "\n"
        paths = patch_paths(patch)
        for path in paths:
            self.inside(path)
        # git apply checks the whole patch first and changes nothing when any hunk fails.
        code, output = _git_apply(self.root, patch)
        if code != 0:
            return f"the patch did not apply:\n{output}"
        self.applied.extend(p for p in paths if p not in self.applied)
        return "applied: " + ", ".join(paths)

    def run_tests(self, seconds_left: float) -> str:
        limit = max(1.0, min(TEST_SECONDS, seconds_left))
        code, output = run_bounded(shlex.split(self.test_command), self.root, self.env, limit)
        status = "timed out" if code is None else f"exit status {code}"
        return f"{self.test_command}: {status}\n{truncate(output, MAX_TOOL_OUTPUT - 200)}"


class OutsideWorktree(ValueError):
    """A tool was asked for a path outside the task's worktree (answered to the model)."""


def patch_paths(patch: str) -> list[str]:
    """The paths a unified diff touches (``a/``/``b/`` prefixes removed); raises
    ValueError when it is not a diff."""
    try:
        parsed = PatchSet(patch)
    except UnidiffParseError as exc:
        raise ValueError(f"not a unified diff: {exc}") from exc
    if not parsed:
        raise ValueError("not a unified diff: no file in it")
    paths: list[str] = []
    for patched in parsed:
        for raw in (patched.source_file, patched.target_file):
            if raw and raw != "/dev/null":
                path = raw[2:] if raw[:2] in ("a/", "b/") else raw
                if path not in paths:
                    paths.append(path)
    return paths


def _git_apply(root: Path, patch: str) -> tuple[int, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".patch", delete=False) as handle:
        handle.write(patch)
    try:
        code, output = run_bounded(
            ["git", "apply", "--recount", "--whitespace=nowarn", handle.name],
            root,
            {"PATH": os.environ.get("PATH", "")},
            60.0,
        )
    finally:
        Path(handle.name).unlink(missing_ok=True)
    return (code if code is not None else 1), output


def run_bounded(
    argv: list[str], cwd: Path, env: Mapping[str, str], seconds: float
) -> tuple[int | None, str]:
    """Run ``argv`` in its own process group; None as the status when it ran past
    ``seconds`` (the whole group is then killed)."""
    with tempfile.TemporaryFile() as out:
        try:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return 127, f"cannot start {argv[0]}: {exc.strerror or exc}"
        try:
            code: int | None = process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            code = None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        out.seek(0)
        return code, out.read().decode("utf-8", "replace")
