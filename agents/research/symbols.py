"""The definitions a file holds: functions, classes, methods and web routes, with lines.

Python is read with :mod:`ast` (exact names, methods under their class, routes from
decorators such as ``@app.get("/items/{id}")``); other languages with cheap regexes
whose quantifiers are bounded. Parsing is the costly part, so :func:`quick_names` (one
regex, every language) feeds the repository-wide name index, and :func:`definitions`
runs only on the few files research looks at closely.
"""

from __future__ import annotations

import ast
import enum
import re
from dataclasses import dataclass

from agents.research.languages import language_of


class DefinitionKind(enum.StrEnum):
    FUNCTION = "function"
    CLASS = "class"
    METHOD = "method"
    ROUTE = "route"


@dataclass(frozen=True)
class Definition:
    """One named thing a file defines; ``name`` is qualified for methods (``Cart.total``)."""

    name: str
    kind: DefinitionKind
    line: int

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[-1]


# Starts with a literal keyword so the regex engine skips ahead quickly.
_QUICK = re.compile(
    r"(?:def|class|function|func|fn|interface|struct|type|enum|trait|module|impl)"
    r"[ \t]{1,8}\*?([A-Za-z_$][\w$]{0,80})"
)
_LEAD = r"^[ \t]{0,40}(?:export[ \t]{1,4})?"
_NAME = r"([A-Za-z_$][\w$]{0,80})"
_OTHER = (
    (
        re.compile(_LEAD + r"(?:default[ \t]{1,4})?(?:abstract[ \t]{1,4})?"
                   r"(?:class|interface|struct|trait|enum|type|module)[ \t]{1,8}" + _NAME,
                   re.MULTILINE),
        DefinitionKind.CLASS,
    ),
    (
        re.compile(_LEAD + r"(?:pub(?:\([\w ]{1,20}\))?[ \t]{1,4})?"
                   r"(?:async[ \t]{1,4})?(?:function\*?|func|fn|def)[ \t]{1,8}"
                   r"(?:\([^)\n]{0,80}\)[ \t]{0,4})?" + _NAME, re.MULTILINE),
        DefinitionKind.FUNCTION,
    ),
    (
        re.compile(_LEAD + r"(?:const|let|var)[ \t]{1,8}" + _NAME + r"[ \t]{0,4}=[ \t]{0,4}"
                   r"(?:async[ \t]{1,4})?(?:function|\([^)\n]{0,200}\)[ \t]{0,4}=>)",
                   re.MULTILINE),
        DefinitionKind.FUNCTION,
    ),
    (
        re.compile(r"""\b(?:app|router|server|api)\.(?:get|post|put|patch|delete|route|all)\("""
                   r"""\s{0,4}["'`](/[^"'`\n]{0,200})["'`]"""),
        DefinitionKind.ROUTE,
    ),
)  # fmt: skip
_ROUTE_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket"}
)


def quick_names(text: str) -> list[str]:
    """Names following a definition keyword, any language; fast and approximate."""
    return _QUICK.findall(text)


def definitions(path: str, text: str) -> tuple[Definition, ...]:
    """The file's definitions in line order; empty for prose and data files."""
    language = language_of(path)
    if language == "Python":
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return _regex_definitions(text)
        return tuple(sorted(_python_definitions(tree), key=lambda d: (d.line, d.name)))
    if language is None:
        return ()
    return _regex_definitions(text)


def _python_definitions(tree: ast.Module) -> list[Definition]:
    found: list[Definition] = []
    for node in tree.body:
        found += _python_node(node, None)
    return found


def _python_node(node: ast.stmt, owner: str | None) -> list[Definition]:
    if isinstance(node, ast.ClassDef):
        name = f"{owner}.{node.name}" if owner else node.name
        found = [Definition(name, DefinitionKind.CLASS, node.lineno)]
        for child in node.body:
            found += _python_node(child, name)
        return found
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        kind = DefinitionKind.METHOD if owner else DefinitionKind.FUNCTION
        name = f"{owner}.{node.name}" if owner else node.name
        routes = [
            Definition(route, DefinitionKind.ROUTE, node.lineno)
            for route in _routes(node.decorator_list)
        ]
        return [Definition(name, kind, node.lineno), *routes]
    if isinstance(node, ast.If | ast.Try):
        return [d for child in (*node.body, *node.orelse) for d in _python_node(child, owner)]
    return []


def _routes(decorators: list[ast.expr]) -> list[str]:
    """Paths from decorators such as ``@app.get("/items/{id}")`` or ``@bp.route("/x")``."""
    found = []
    for decorator in decorators:
        if not isinstance(decorator, ast.Call) or not decorator.args:
            continue
        func, first = decorator.func, decorator.args[0]
        if (
            isinstance(func, ast.Attribute)
            and func.attr in _ROUTE_METHODS
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and first.value.startswith("/")
        ):
            found.append(first.value)
    return found


def _regex_definitions(text: str) -> tuple[Definition, ...]:
    found = []
    for regex, kind in _OTHER:
        for match in regex.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Definition(match.group(1), kind, line))
    return tuple(sorted(set(found), key=lambda d: (d.line, d.name)))
