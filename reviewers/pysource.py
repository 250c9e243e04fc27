"""Python source facts reviewers need: functions, their size and complexity, comments.

Everything here parses the text it is given and never raises on bad code: a file that
does not parse (Python 2, a syntax error, a template) has no facts.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Function:
    """A def or class, by its dotted name within the module (``Cart.total``)."""

    name: str
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    first_line: int  # the first decorator's line, else the def line
    def_line: int
    end_line: int
    public: bool

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)

    @property
    def docstring(self) -> str | None:
        return ast.get_docstring(self.node)

    @property
    def length(self) -> int:
        return self.end_line - self.def_line + 1

    def overlaps(self, lines: frozenset[int]) -> bool:
        return any(self.first_line <= line <= self.end_line for line in lines)


def parse(text: str | None) -> ast.Module | None:
    if text is None:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def functions(tree: ast.Module | None) -> dict[str, Function]:
    """Every def and class of the module, nested ones included, by dotted name."""
    found: dict[str, Function] = {}
    if tree is not None:
        for name, node, public in _walk(tree.body, "", True):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            end = node.end_lineno or node.lineno
            found[name] = Function(name, node, first, node.lineno, end, public)
    return found


_Defs = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _walk(body: list[ast.stmt], prefix: str, public: bool) -> Iterator[tuple[str, _Defs, bool]]:
    for node in body:
        if isinstance(node, _Defs):
            name = f"{prefix}{node.name}"
            visible = public and not node.name.startswith("_")
            yield name, node, visible
            # Functions nested in functions are private helpers; methods keep the class's.
            inner = visible and isinstance(node, ast.ClassDef)
            yield from _walk(node.body, f"{name}.", inner)


_BRANCHES = (
    ast.If,
    ast.IfExp,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ExceptHandler,
    ast.With,
    ast.AsyncWith,
    ast.Assert,
    ast.match_case,
)


def complexity(node: ast.AST) -> int:
    """Cyclomatic complexity of one function: 1 + its branches (if, loops, except,
    match cases, extra boolean operands, comprehension loops and filters); nested defs
    are counted on their own, as ruff's C901 does."""
    score = 1
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(child, _BRANCHES):
            score += 1
        elif isinstance(child, ast.BoolOp):
            score += len(child.values) - 1
        elif isinstance(child, ast.comprehension):
            score += 1 + len(child.ifs)
        stack.extend(ast.iter_child_nodes(child))
    return score


def comments(text: str) -> Iterator[tuple[int, str]]:
    """(line, comment text without ``#``) of every comment; nothing for untokenisable text."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return
