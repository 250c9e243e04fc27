"""Reads JUnit XML test reports (pytest's ``xunit1`` family) into failed-test records.

pytest writes ``file`` and ``line`` on each ``<testcase>`` only with
``-o junit_family=xunit1``; that ``line`` is 0-based (the ``def`` line minus one), so
it is turned into a 1-based line here. Other runners' reports (no ``file``) still give
the test's name and message; their location is then unknown.
https://docs.pytest.org/en/stable/how-to/output.html#creating-junitxml-format-files
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree.ElementTree import ParseError

from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite

from bot.errors import ToolFailed

# Messages shown on an annotation are cut here (GitHub keeps 64 KB; people read less).
MAX_DETAIL_CHARS = 4000


class Outcome(enum.StrEnum):
    """Why a test did not pass: an assertion failed, or it raised before asserting."""

    FAILED = "failed"
    ERROR = "error"


@dataclass(frozen=True)
class FailedTest:
    """One test that failed or errored.

    ``test_id`` is pytest's node id when the report allows it (``tests/test_x.py::
    TestA::test_b``), else ``classname.name``. ``path`` is relative to the repository
    root with '/' and ``line`` 1-based, both empty/0 when the report does not say.
    """

    test_id: str
    path: str
    line: int
    outcome: Outcome
    message: str
    detail: str


@dataclass(frozen=True)
class Report:
    """What one test run reported: counts and the tests that did not pass."""

    tests: int
    failures: int
    errors: int
    skipped: int
    failed: tuple[FailedTest, ...]


def read_report(path: Path) -> Report:
    """Parse the JUnit XML file at ``path``; ToolFailed when it is missing or unreadable."""
    try:
        xml = JUnitXml.fromfile(str(path))
    except (OSError, ParseError) as exc:
        raise ToolFailed(f"the test report {path.name} cannot be read: {exc}") from exc
    return _report(xml)


def parse_report(text: str) -> Report:
    try:
        xml = JUnitXml.fromstring(text)
    except ParseError as exc:
        raise ToolFailed(f"the test report cannot be read: {exc}") from exc
    return _report(xml)


def _report(xml: JUnitXml | TestSuite) -> Report:
    cases = list(_cases(xml))
    failed = tuple(f for f in (_failed(case) for case in cases) if f is not None)
    skipped = sum(1 for case in cases if case.is_skipped)
    errors = sum(1 for f in failed if f.outcome is Outcome.ERROR)
    return Report(len(cases), len(failed) - errors, errors, skipped, failed)


def _cases(xml: JUnitXml | TestSuite) -> Iterator[TestCase]:
    # A report is either <testsuites> holding suites or a single <testsuite>.
    for item in xml:
        if isinstance(item, TestSuite):
            yield from item
        elif isinstance(item, TestCase):
            yield item


def _failed(case: TestCase) -> FailedTest | None:
    result = next((r for r in case.result if isinstance(r, Failure | Error)), None)
    if result is None:
        return None
    outcome = Outcome.ERROR if isinstance(result, Error) else Outcome.FAILED
    path = _path(case._elem.get("file") or "")
    line = _line(case._elem.get("line"))
    detail = (result.text or "").strip()
    message = (result.message or "").strip() or _first_line(detail) or outcome.value
    return FailedTest(
        test_id=_test_id(case, path),
        path=path,
        line=line,
        outcome=outcome,
        message=message,
        detail=detail[-MAX_DETAIL_CHARS:],
    )


def _path(raw: str) -> str:
    return PurePosixPath(raw.replace("\\", "/")).as_posix().removeprefix("./") if raw else ""


def _line(raw: str | None) -> int:
    """pytest's 0-based line as 1-based; 0 when absent or not a number."""
    if raw is None or not raw.strip().lstrip("-").isdigit():
        return 0
    return max(int(raw) + 1, 1)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _test_id(case: TestCase, path: str) -> str:
    """pytest's node id from ``classname`` (dotted module + classes) and ``name``."""
    name = case.name or ""
    classname = case.classname or ""
    if not path.endswith(".py"):
        return f"{classname}.{name}" if classname else name
    module = path.removesuffix(".py").replace("/", ".")
    classes = classname.removeprefix(module).strip(".") if classname.startswith(module) else ""
    parts = [path, *filter(None, classes.split(".")), name]
    return "::".join(parts)
