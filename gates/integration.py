"""L3 · Integration tests: the repository's tests run on the head inside a jail.

The test command is the configured one, else pytest when the repository looks like it
uses pytest (a ``tests/`` or ``test/`` directory, or pytest settings). It runs on a copy
of the head tree inside :mod:`gates.jail` (no network, read-only system, only that copy
writable, no credentials, rlimits; the gate's time limit is the wall clock). pytest
writes a JUnit report (``xunit1``, which carries file and line) that
:mod:`gates.junit` reads; every failed test becomes a finding at its ``def`` line.

When tests fail, the same tests run on the base revision: those failing there too are
pre-existing (reported, never failed); only the others are new.

With ``install`` configured, each tree first gets a virtualenv of its own, filled by that
command in the jail with the network on (installing runs the pull request's build code
too); the tests then run offline with its interpreter.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from configparser import ConfigParser
from configparser import Error as ConfigError
from dataclasses import dataclass
from pathlib import Path

from bot.errors import GateError, ToolFailed, WorkspaceError
from gates.config import GateConfig, GateLevel, IntegrationConfig, Severity
from gates.jail import JAIL_HOME, Jail, Limits, find_jail, interpreter_dirs, jailed
from gates.junit import FailedTest, Outcome, Report, read_report
from gates.model import Finding, Scan
from gates.revision import EMPTY_TREE, GateInput, export_tree
from gates.tools import ToolRunner, failure_message

LEVEL = GateLevel.L3
TITLE = "Integration tests"
TOOL = "tests"
RULES = {Outcome.FAILED: "test-failed", Outcome.ERROR: "test-error"}
COMMAND_RULE = "test-command-failed"
# Stands for the interpreter in configured commands.
PYTHON = "{python}"
VENV_SUFFIX = "-venv"
# Makes TechLead's own packages (pytest...) importable behind a virtualenv's own.
FALLBACK_PTH = "techlead-fallback.pth"
# The report pytest writes, inside the tree copy (the one writable directory).
REPORT_NAME = ".techlead-junit.xml"
TEST_DIRS = ("tests", "test", "testing")
PYTEST_FILES = ("pytest.ini", ".pytest.ini")
# pytest's exit codes: 0 passed, 1 some failed, 2 interrupted (collection errors),
# 5 nothing collected. 3 and 4 are pytest's own errors.
# https://docs.pytest.org/en/stable/reference/exit-codes.html
PYTEST_OK_CODES = (0, 1, 2, 5)
NO_TESTS_COLLECTED = 5
_PYTEST_OPTIONS = ("-p", "no:cacheprovider", "-o", "junit_family=xunit1", "-q", "-rN")
_OUTPUT_LINES = 12
_MESSAGE_CHARS = 1500

NO_TESTS = "no test command configured and no pytest tests found"
NOTHING_COLLECTED = "the test command collected no tests"
UNSANDBOXED = (
    "unsandboxed: {problem}; the tests ran with resource limits and without "
    "credentials, but with the host's network and file system"
)
JAIL_REQUIRED = "not run: {problem}, and gates.integration.require_sandbox is on"
BASE_UNAVAILABLE = "failing tests not re-run on the base revision: {reason}"
SUMMARY_NOTE = "{tests} tests: {failed} failed, {errors} errors, {skipped} skipped ({where})"
TEST_FAILED = "{test} {outcome}: {message}"
COMMAND_FAILED = "`{command}` exited with {code}:\n{output}"
INSTALL_FAILED = "installing the dependencies failed (exit {code}): {output}"
JAILED = "in a bubblewrap jail without network"
NOT_JAILED = "unsandboxed"


@dataclass(frozen=True)
class SuiteCommand:
    """What to run. ``pytest``: TechLead adds the report options and selects tests by id.

    ``report`` is the JUnit file a configured command writes (relative to the tree),
    empty when it writes none. ``anchor`` is where failures without a file are shown.
    """

    argv: tuple[str, ...]
    pytest: bool
    report: str
    anchor: str


@dataclass(frozen=True)
class SuiteRun:
    """One run of the tests on one tree."""

    report: Report | None
    returncode: int
    output: str


# ---------------------------------------------------------------------------- the gate


def scan(inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
    settings = config if isinstance(config, IntegrationConfig) else None
    if settings is None:
        raise GateError("L3 needs the gates.integration settings")
    command = command_for(inp.head, settings)
    if command is None:
        return Scan(not_applicable=NO_TESTS)
    jail = find_jail()
    if not jail.isolated and settings.require_sandbox:
        return Scan(incomplete=(JAIL_REQUIRED.format(problem=jail.problem),))
    notes: tuple[str, ...] = () if jail.isolated else (UNSANDBOXED.format(problem=jail.problem),)
    with tempfile.TemporaryDirectory(prefix="techlead-tests-") as scratch:
        head_tree = copy_head(inp, Path(scratch) / "head")
        head = run_tests(tools, jail, command, head_tree, settings)
        if head.report is not None and head.report.tests == 0 and not head.report.failed:
            return Scan(not_applicable=NOTHING_COLLECTED, notes=notes)
        failed = failures(head, command)
        where = JAILED if jail.isolated else NOT_JAILED
        notes += (_summary(head, where),) if head.report else ()
        if not failed:
            return Scan(notes=notes)
        old, base_notes = failing_at_base(inp, tools, jail, command, settings, failed, scratch)
    return split(failed, old, command, notes + base_notes)


def split(
    failed: Sequence[FailedTest], old: set[str], command: SuiteCommand, notes: tuple[str, ...]
) -> Scan:
    """Failures as findings: those also failing at base are pre-existing."""
    new = [finding(test, command) for test in failed if test.test_id not in old]
    known = [finding(test, command) for test in failed if test.test_id in old]
    return Scan(head=tuple(new), preexisting=tuple(known), notes=notes)


def _summary(run: SuiteRun, where: str) -> str:
    report = run.report
    assert report is not None
    return SUMMARY_NOTE.format(
        tests=report.tests,
        failed=report.failures,
        errors=report.errors,
        skipped=report.skipped,
        where=where,
    )


# ---------------------------------------------------------------------------- detection


def command_for(root: Path, settings: IntegrationConfig) -> SuiteCommand | None:
    """The configured command, else pytest when the tree uses it, else None.

    ``{python}`` stays in the command until a run knows its interpreter.
    """
    if settings.command:
        argv = tuple(shlex.split(settings.command))
        is_pytest = _is_pytest(argv)
        return SuiteCommand(argv, is_pytest, settings.junit_xml, _anchor(root))
    if not uses_pytest(root):
        return None
    return SuiteCommand((PYTHON, "-m", "pytest"), True, "", _anchor(root))


def _is_pytest(argv: Sequence[str]) -> bool:
    names = [Path(part).name for part in argv[:3]]
    return bool(names) and (names[0] in ("pytest", "py.test") or names[1:3] == ["-m", "pytest"])


def uses_pytest(root: Path) -> bool:
    """A test directory, a pytest.ini, or pytest settings in pyproject/setup.cfg/tox.ini."""
    if any((root / name).is_dir() for name in TEST_DIRS):
        return True
    if any((root / name).is_file() for name in PYTEST_FILES):
        return True
    return _pyproject_has_pytest(root / "pyproject.toml") or any(
        _ini_has(root / name, section)
        for name, section in (("setup.cfg", "tool:pytest"), ("tox.ini", "pytest"))
    )


def _pyproject_has_pytest(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return "pytest" in data.get("tool", {})


def _ini_has(path: Path, section: str) -> bool:
    parser = ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (ConfigError, UnicodeDecodeError):
        return False
    return parser.has_section(section)


def _anchor(root: Path) -> str:
    """The file a failure without a location is shown on: where the tests are set up."""
    candidates = (*PYTEST_FILES, "pyproject.toml", "setup.cfg", "tox.ini", "README.md")
    return next((name for name in candidates if (root / name).is_file()), "README.md")


# ---------------------------------------------------------------------------- running


def copy_head(inp: GateInput, dest: Path) -> Path:
    """A private copy of the head tree: the tests write in it, never in the original."""
    if inp.repo is not None and inp.head_sha:
        export_tree(inp.repo, inp.head_sha, dest)
    else:
        ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".*_cache", ".tox")
        shutil.copytree(inp.head, dest, symlinks=True, ignore=ignore)
    return dest


def run_tests(
    tools: ToolRunner,
    jail: Jail,
    command: SuiteCommand,
    tree: Path,
    settings: IntegrationConfig,
    select: Sequence[str] = (),
) -> SuiteRun:
    """Install the tree's dependencies (when configured), then run ``command`` in ``tree``
    (only the tests ``select`` when it is pytest)."""
    python = prepare(tools, jail, tree, settings)
    report = tree / (command.report or REPORT_NAME)
    report.unlink(missing_ok=True)
    argv = [part.replace(PYTHON, python) for part in command.argv]
    if command.pytest:
        argv += [*_PYTEST_OPTIONS, f"--junitxml={report}", *select]
    full = jailed(
        argv,
        jail=jail,
        workdir=tree,
        readonly=_readonly(python, settings),
        limits=_limits(settings),
        python=python,
        env={**tools.env, **_env(jail, tree)},
    )
    output = tools.run(full, cwd=tree, ok_codes=tuple(range(256)), extra_env=_env(jail, tree))
    _check_ran(command, output.returncode, output.stderr + output.stdout)
    parsed = read_report(report) if report.is_file() else None
    return SuiteRun(parsed, output.returncode, _tail(output.stdout + output.stderr))


def _readonly(python: str, settings: IntegrationConfig) -> list[Path]:
    """The interpreter's directories, and the configured one's (a virtualenv falls back
    to its packages)."""
    return [*interpreter_dirs(python), *interpreter_dirs(settings.python or sys.executable)]


def _limits(settings: IntegrationConfig) -> Limits:
    return Limits(
        cpu_seconds=settings.cpu_seconds,
        memory_bytes=settings.memory_mb * 1024 * 1024,
        file_size_bytes=settings.file_size_mb * 1024 * 1024,
    )


def prepare(tools: ToolRunner, jail: Jail, tree: Path, settings: IntegrationConfig) -> str:
    """The interpreter the tests of ``tree`` run with.

    With ``install`` configured: a fresh virtualenv next to the tree (made by TechLead,
    running nothing of the pull request), then the install command in the jail with
    the network on and only the tree and the virtualenv writable (building a package
    runs its code too).
    """
    base = settings.python or sys.executable
    if not settings.install:
        return base
    venv = tree.with_name(tree.name + VENV_SUFFIX)
    tools.run([base, "-m", "venv", str(venv)], cwd=tree.parent)
    python = str(venv / "bin" / "python")
    _fall_back_to(base, python, tools, tree)
    argv = [part.replace(PYTHON, python) for part in shlex.split(settings.install)]
    full = jailed(
        argv,
        jail=jail,
        workdir=tree,
        readonly=_readonly(python, settings),
        limits=_limits(settings),
        python=python,
        env={**tools.env, **_env(jail, tree)},
        writable=[venv],
        network=True,
    )
    output = tools.run(full, cwd=tree, ok_codes=tuple(range(256)), extra_env=_env(jail, tree))
    if output.returncode != 0:
        raise ToolFailed(
            INSTALL_FAILED.format(
                code=output.returncode, output=_tail(output.stdout + output.stderr)
            )
        )
    return python


def _fall_back_to(base: str, python: str, tools: ToolRunner, tree: Path) -> None:
    """A .pth in the new virtualenv naming ``base``'s site-packages (read-only in the jail)."""
    ask = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    theirs = tools.run([python, "-c", ask], cwd=tree.parent).stdout.strip()
    ours = tools.run([base, "-c", ask], cwd=tree.parent).stdout.strip()
    if theirs and ours and theirs != ours:
        (Path(theirs) / FALLBACK_PTH).write_text(ours + "\n", encoding="utf-8")


def _env(jail: Jail, tree: Path) -> dict[str, str]:
    home = JAIL_HOME if jail.isolated else str(tree.parent / "home")
    if not jail.isolated:
        Path(home).mkdir(exist_ok=True)
    return {"HOME": home, "TMPDIR": home, "PYTHONDONTWRITEBYTECODE": "1", "CI": "true"}


def _check_ran(command: SuiteCommand, code: int, output: str) -> None:
    """pytest's own errors (bad options, a crash) are the gate's errors, not test failures."""
    if command.pytest and code not in PYTEST_OK_CODES:
        raise ToolFailed(failure_message("pytest", code, output))


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-_OUTPUT_LINES:])


def failures(run: SuiteRun, command: SuiteCommand) -> list[FailedTest]:
    """The failed tests; a failed command without a report is one failure of its own."""
    if run.report is not None and (run.report.failed or run.returncode == 0):
        return list(run.report.failed)
    if run.returncode == 0 or (command.pytest and run.returncode == NO_TESTS_COLLECTED):
        return []
    text = COMMAND_FAILED.format(
        command=shlex.join(command.argv), code=run.returncode, output=run.output
    )
    return [FailedTest(shlex.join(command.argv), "", 0, Outcome.ERROR, text, "")]


def failing_at_base(
    inp: GateInput,
    tools: ToolRunner,
    jail: Jail,
    command: SuiteCommand,
    settings: IntegrationConfig,
    failed: Sequence[FailedTest],
    scratch: str,
) -> tuple[set[str], tuple[str, ...]]:
    """Which of ``failed`` fail on the base revision too (their test ids)."""
    if not settings.compare_base or inp.repo is None or inp.base_sha in ("", EMPTY_TREE):
        return set(), ()
    base_tree = Path(scratch) / "base"
    try:
        export_tree(inp.repo, inp.base_sha, base_tree)
    except WorkspaceError as exc:
        return set(), (BASE_UNAVAILABLE.format(reason=exc),)
    select = _selection(failed, base_tree) if command.pytest else []
    if command.pytest and not select:
        return set(), ()  # none of the failing tests' files exist at base: all new
    try:
        run = run_tests(tools, jail, command, base_tree, settings, select)
    except ToolFailed as exc:
        return set(), (BASE_UNAVAILABLE.format(reason=exc),)
    return {test.test_id for test in failures(run, command)}, ()


def _selection(failed: Sequence[FailedTest], base_tree: Path) -> list[str]:
    """pytest node ids of the failed tests whose file exists at base (one per test)."""
    return [
        test.test_id
        for test in failed
        if test.path and "::" in test.test_id and (base_tree / test.path).is_file()
    ]


# ---------------------------------------------------------------------------- findings


def finding(test: FailedTest, command: SuiteCommand) -> Finding:
    message = TEST_FAILED.format(
        test=test.test_id, outcome=test.outcome.value, message=_message(test)
    )
    path, line = (test.path, test.line) if test.path else (command.anchor, 1)
    return Finding(
        path=path,
        start_line=max(line, 1),
        end_line=max(line, 1),
        severity=Severity.HIGH,
        rule=RULES[test.outcome] if test.path or command.pytest else COMMAND_RULE,
        message=message,
        tool=TOOL,
    )


def _message(test: FailedTest) -> str:
    detail = test.detail.strip()
    text = f"{test.message}\n\n{detail}" if detail and detail != test.message else test.message
    return text if len(text) <= _MESSAGE_CHARS else "…" + text[-_MESSAGE_CHARS:]
