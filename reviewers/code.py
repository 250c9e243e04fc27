"""The code-review stream: lint findings with one-click fixes, and what a colleague
would point out on the changed lines (complexity, long functions, broad ``except``,
debugging calls, new TODOs, source changed without tests)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from gates.config import Severity
from gates.model import Finding
from reviewers import pysource, texts
from reviewers.model import Comment, ReviewInput, Stream, lines_of

LINT_TOOL = "ruff"
_TAG = re.compile(r"\b(TODO|FIXME|XXX|HACK)\b[:(]?", re.IGNORECASE)
_TEST_PARTS = frozenset({"test", "tests", "testing", "conftest.py"})
# Where printing is the point: command-line entry points, scripts, examples, docs.
_PRINTING_PARTS = frozenset({"scripts", "bin", "examples", "docs", "bench", "benchmarks", "tools"})
_PRINTING_NAMES = frozenset({"__main__.py", "cli.py", "setup.py", "manage.py", "noxfile.py"})
_DEBUG_CALLS = frozenset({"print", "breakpoint", "set_trace"})


def review(inp: ReviewInput) -> list[Comment]:
    """Every code-review comment on the pull request, unsorted."""
    comments = [_lint(finding) for finding in inp.findings if finding.tool == LINT_TOOL]
    for path, added in _changed_python(inp):
        text = inp.head(path)
        tree = pysource.parse(text)
        if text is None or tree is None:
            continue
        base = pysource.functions(pysource.parse(inp.base(_old_path(inp, path))))
        comments += _function_comments(inp, path, text, tree, added, base)
        comments += _line_comments(path, text, tree, added)
    comments += _missing_tests(inp)
    return comments


def is_test_path(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1] if parts else ""
    return bool(_TEST_PARTS & set(parts)) or name.startswith("test_") or name.endswith("_test.py")


def _changed_python(inp: ReviewInput) -> Iterator[tuple[str, frozenset[int]]]:
    for path, file in sorted(inp.diff.files.items()):
        if path.endswith(".py") and not file.deleted and not file.binary and file.added:
            yield path, file.added


def _old_path(inp: ReviewInput, path: str) -> str:
    file = inp.diff.get(path)
    return file.old_path if file is not None and file.old_path else path


# --------------------------------------------------------------------------------- lint


def _lint(finding: Finding) -> Comment:
    fix = finding.fix if finding.fix is not None and finding.fix.safe else None
    more = ""
    if fix is not None and fix.description:
        more = f"\n\n{texts.LINT_FIX.format(description=fix.description)}"
    return Comment(
        stream=Stream.CODE,
        rule=finding.rule,
        path=finding.path,
        line=fix.start_line if fix else finding.start_line,
        end_line=fix.end_line if fix else finding.end_line,
        title=texts.LINT_TITLE.format(rule=finding.rule, message=finding.message),
        body=texts.LINT_BODY.format(message=_linked(finding), more=more),
        severity=finding.severity,
        suggestion=fix.replacement if fix else None,
        snippet=finding.message,
        origin=finding.fingerprint,
    )


def _linked(finding: Finding) -> str:
    return f"[{finding.rule}]({finding.url}): {finding.message}" if finding.url else finding.message


# ---------------------------------------------------------------------------- functions


def _function_comments(
    inp: ReviewInput,
    path: str,
    text: str,
    tree: ast.Module,
    added: frozenset[int],
    base: dict[str, pysource.Function],
) -> Iterator[Comment]:
    settings = inp.settings
    for name, function in pysource.functions(tree).items():
        if function.is_class or not function.overlaps(added):
            continue
        before = base.get(name)
        yield from _complexity(path, text, function, before, settings.complexity_threshold)
        yield from _length(path, text, function, before, settings.max_function_lines)


def _complexity(
    path: str, text: str, function: pysource.Function, before: pysource.Function | None, limit: int
) -> Iterator[Comment]:
    score = pysource.complexity(function.node)
    old = pysource.complexity(before.node) if before is not None else None
    if score <= limit or (old is not None and old >= score):
        return
    was = texts.COMPLEXITY_WAS.format(before=old) if old is not None else ""
    yield Comment(
        stream=Stream.CODE,
        rule="complexity",
        path=path,
        line=function.def_line,
        title=texts.COMPLEXITY_TITLE.format(name=function.name, score=score, limit=limit),
        body=texts.COMPLEXITY_BODY.format(was=was),
        severity=Severity.MEDIUM,
        snippet=function.name,
    )


def _length(
    path: str, text: str, function: pysource.Function, before: pysource.Function | None, limit: int
) -> Iterator[Comment]:
    old = before.length if before is not None else None
    if function.length <= limit or (old is not None and old >= function.length):
        return
    was = texts.LONG_WAS.format(before=old) if old is not None else ""
    yield Comment(
        stream=Stream.CODE,
        rule="long-function",
        path=path,
        line=function.def_line,
        title=texts.LONG_TITLE.format(name=function.name, length=function.length, limit=limit),
        body=texts.LONG_BODY.format(was=was),
        severity=Severity.LOW,
        snippet=function.name,
    )


# -------------------------------------------------------------------------------- lines


def _line_comments(
    path: str, text: str, tree: ast.Module, added: frozenset[int]
) -> Iterator[Comment]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.lineno in added:
            yield from _broad_except(path, text, node)
        elif isinstance(node, ast.Call) and node.lineno in added:
            yield from _debug_call(path, text, node, tree)
    for line, comment in pysource.comments(text):
        if line in added:
            yield from _todo(path, line, comment)


def _broad_except(path: str, text: str, node: ast.ExceptHandler) -> Iterator[Comment]:
    caught = _caught(node.type)
    if caught is None or any(isinstance(child, ast.Raise) for child in ast.walk(node)):
        return
    clause = "except:" if node.type is None else f"except {caught}"
    yield Comment(
        stream=Stream.CODE,
        rule="broad-except",
        path=path,
        line=node.lineno,
        title=texts.BROAD_EXCEPT_TITLE.format(clause=clause),
        body=texts.BROAD_EXCEPT_BODY.format(caught=caught),
        severity=Severity.MEDIUM,
        snippet=lines_of(text, node.lineno),
    )


def _caught(kind: ast.expr | None) -> str | None:
    """The broad exception a handler names (``BaseException`` for a bare one), or None."""
    if kind is None:
        return "BaseException"
    names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    for name in names:
        if isinstance(name, ast.Name) and name.id in ("Exception", "BaseException"):
            return name.id
    return None


def _debug_call(path: str, text: str, node: ast.Call, tree: ast.Module) -> Iterator[Comment]:
    call = _call_name(node.func)
    if call not in _DEBUG_CALLS or (call == "print" and _printing_allowed(path, tree, node)):
        return
    yield Comment(
        stream=Stream.CODE,
        rule=f"debug-{call}",
        path=path,
        line=node.lineno,
        end_line=node.end_lineno,
        title=texts.DEBUG_TITLE.format(call=f"{call}()"),
        body=texts.DEBUG_BODY.format(call=f"{call}()", effect=texts.DEBUG_EFFECTS[call]),
        severity=Severity.LOW if call == "print" else Severity.MEDIUM,
        snippet=lines_of(text, node.lineno, node.end_lineno),
    )


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and func.attr == "set_trace":
        return "set_trace"
    return ""


def _printing_allowed(path: str, tree: ast.Module, node: ast.Call) -> bool:
    """Tests, scripts and entry points print on purpose; so does a ``__main__`` block."""
    parts = PurePosixPath(path).parts
    if is_test_path(path) or _PRINTING_PARTS & set(parts) or parts[-1] in _PRINTING_NAMES:
        return True
    return any(_main_block(stmt) and _inside(stmt, node.lineno) for stmt in tree.body)


def _main_block(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test)


def _inside(stmt: ast.stmt, line: int) -> bool:
    return stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno)


def _todo(path: str, line: int, comment: str) -> Iterator[Comment]:
    match = _TAG.match(comment)
    if match is None:
        return
    tag = match.group(1).upper()
    rest = comment[match.end() :].strip(" :-") or comment
    yield Comment(
        stream=Stream.CODE,
        rule="todo",
        path=path,
        line=line,
        title=texts.TODO_TITLE.format(tag=tag, text=rest[:80]),
        body=texts.TODO_BODY.format(tag=tag),
        severity=Severity.INFO,
        snippet=comment,
    )


# -------------------------------------------------------------------------------- tests


def _missing_tests(inp: ReviewInput) -> list[Comment]:
    changed = [path for path, _ in _changed_python(inp)]
    sources = [path for path in changed if not is_test_path(path) and not _tooling(path)]
    if not sources or any(is_test_path(path) for path in inp.diff.files):
        return []
    shown = ", ".join(f"`{path}`" for path in sources[:3]) + (", ..." if len(sources) > 3 else "")
    return [
        Comment(
            stream=Stream.CODE,
            rule="no-tests",
            path=sources[0],
            line=0,  # about the change as a whole: a file-level comment
            title=texts.NO_TESTS_TITLE,
            body=texts.NO_TESTS_BODY.format(count=len(sources), files=shown),
            severity=Severity.LOW,
            snippet="no-tests",
        )
    ]


def _tooling(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(_PRINTING_PARTS & set(parts)) or parts[-1] in (
        "setup.py",
        "noxfile.py",
        "conftest.py",
    )
