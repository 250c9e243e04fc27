"""Names the code around a line: the enclosing def/class in Python, parent keys elsewhere.

A finding's scope is what identifies it apart from its line number and the text of its
line: editing the line (renaming an argument next to a hard-coded password, bumping an
action's SHA) keeps the scope, so the finding keeps its identity. Python files are read
with :mod:`ast`; a file that does not parse (Python 2 code, a syntax error) and every
other text file fall back to indentation: the less-indented lines above a line are its
parents.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Sequence

_PYTHON_SUFFIXES = (".py", ".pyi")
_DEFINITION = re.compile(r"\s*(?:async\s+def|def|class)\s+(\w+)")
_KEY = re.compile(r"\s*(?:-\s+)?([\w.\-\"' ]+?)\s*:(?:\s|$)")
_Scope = tuple[int, int, str]


class ScopeIndex:
    """The scopes of one file's lines (``lines`` with their endings)."""

    def __init__(self, path: str, lines: Sequence[str]) -> None:
        self.lines = lines
        self.python = path.endswith(_PYTHON_SUFFIXES)
        self._scopes = _python_scopes("".join(lines)) if self.python else None

    def name(self, line: int) -> str:
        """``Class.method`` around 1-based ``line`` ('' at module level)."""
        if self._scopes is not None:
            return _innermost(self._scopes, line)
        return ".".join(_indented_parents(self.lines, line, self.python))


def _python_scopes(text: str) -> list[_Scope] | None:
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences in old code warn while parsing.
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
        scopes: list[_Scope] = []
        _collect(tree, "", scopes)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # indentation still names the scopes
    return scopes


def _collect(node: ast.AST, prefix: str, scopes: list[_Scope]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}.{child.name}" if prefix else child.name
            start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
            scopes.append((start, child.end_lineno or child.lineno, name))
            _collect(child, name, scopes)
        else:
            _collect(child, prefix, scopes)


def _innermost(scopes: Sequence[_Scope], line: int) -> str:
    found = ""
    for start, end, name in scopes:  # outer scopes come before the scopes inside them
        if start <= line <= end:
            found = name
    return found


def _indented_parents(lines: Sequence[str], line: int, python: bool) -> list[str]:
    """Labels of the lines above ``line`` that are less indented, outermost first."""
    if not 0 < line <= len(lines):
        return []
    limit = _indent(lines[line - 1])
    parents: list[str] = []
    for number in range(line - 2, -1, -1):
        if limit == 0:
            break
        text = lines[number]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        indent = _indent(text)
        if indent >= limit:
            continue
        limit = indent
        label = _label(text, python)
        if label:
            parents.append(label)
    return parents[::-1]


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" \t"))


def _label(text: str, python: bool) -> str:
    match = (_DEFINITION if python else _KEY).match(text)
    return match.group(1).strip("\"' ") if match else ""
