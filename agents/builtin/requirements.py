"""Dependency declarations edited as text: which package a task names, and its new pins (pure).

Handles ``requirements*.txt`` / ``*.in`` lines and the PEP 621 arrays of
``pyproject.toml`` (``[project] dependencies``, ``[project.optional-dependencies]``,
PEP 735 ``[dependency-groups]``). Only the version part of a matching requirement is
rewritten: its extras, markers, comments, quoting and the file's layout stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

_I = re.IGNORECASE
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_VERSION = r"v?(\d+(?:\.\d+)*(?:(?:a|b|rc|\.post|\.dev)\d+)?)"
_ASK_WITH_VERSION = (
    re.compile(
        rf"\b(?:bump|upgrade|update|raise|move|pin|downgrade)\s+(?:the\s+)?"
        rf"(?:dependency\s+|package\s+)?`?({_NAME})`?"
        rf"(?:\s+(?:dependency|package|library))?\s+(?:from\s+\S+\s+)?to\s+(?:version\s+)?"
        rf"`?{_VERSION}`?",
        _I,
    ),
    re.compile(rf"`?({_NAME})\s*(?:==|>=|~=)\s*{_VERSION}`?", _I),
)
_ASK_NAME = re.compile(
    rf"\b(?:bump|upgrade|update|raise)\s+(?:the\s+)?(?:dependency\s+|package\s+)?`?({_NAME})`?",
    _I,
)
_NOT_A_NAME = frozenset(
    {"the", "all", "our", "dependency", "dependencies", "package", "packages", "version", "to"}
)
_CLAUSE = re.compile(r"^(\s*)(~=|===|==|!=|<=|>=|<|>)(\s*)([^\s,;]+)(\s*)$")
_REQUIREMENT = re.compile(
    rf"^(?P<name>{_NAME})(?P<extras>\s*\[[^\]]*\])?(?P<spec>[^;@#]*?)(?P<rest>\s*(?:[;#].*)?)$",
    re.DOTALL,
)
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'")
_TABLE = re.compile(r"^\s*\[(?P<table>[^\]\[]+)\]\s*(?:#.*)?$")
_ARRAY_START = re.compile(r"^\s*(?P<key>[\w.\"'-]+)\s*=\s*\[")


@dataclass(frozen=True)
class Ask:
    """What a task asks for: a package and, when it says so, the version to move to."""

    name: str | None
    version: str | None = None


@dataclass(frozen=True)
class Edit:
    """One requirement rewritten: where, from what, to what."""

    path: str
    old: str
    new: str


def normalise(name: str) -> str:
    """PEP 503 name: ``Foo_Bar`` and ``foo-bar`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_ask(text: str) -> Ask:
    """The dependency a task names (``bump requests to 2.32.3``), and its version if given."""
    for pattern in _ASK_WITH_VERSION:
        for match in pattern.finditer(text):
            if match.group(1).lower() not in _NOT_A_NAME and _valid(match.group(2)):
                return Ask(match.group(1), match.group(2))
    for match in _ASK_NAME.finditer(text):
        if match.group(1).lower() not in _NOT_A_NAME:
            return Ask(match.group(1))
    return Ask(None)


def _valid(version: str) -> bool:
    try:
        Version(version)
    except InvalidVersion:
        return False
    return True


# ---------------------------------------------------------------------------- one requirement


def rewrite(requirement: str, name: str, version: str) -> str | None:
    """``requirement`` moved to allow ``version``: itself when it already does, None if not
    ``name``'s or when it cannot be made to (a direct URL reference)."""
    match = _REQUIREMENT.match(requirement)
    if match is None or normalise(match.group("name")) != normalise(name):
        return None
    spec = match.group("spec")
    new_spec = bump_specifier(spec, version)
    if new_spec is None:
        return None
    start, end = match.span("spec")
    return requirement[:start] + new_spec + requirement[end:]


def bump_specifier(spec: str, version: str) -> str | None:
    """The specifier ``spec`` (``>=2.0,<3``) changed to take ``version`` as its floor/pin."""
    if not spec.strip():
        return f">={version}"
    target = Version(version)
    clauses = [_bump_clause(clause, target, version) for clause in spec.split(",")]
    new = ",".join(clause for clause in clauses if clause is not None)
    if spec.endswith(" ") and not new.endswith(" "):
        new += spec[len(spec.rstrip()) :]
    try:
        allowed = SpecifierSet(new).contains(target, prereleases=True)
    except InvalidSpecifier:
        return None
    return new if allowed else None


def _bump_clause(clause: str, target: Version, version: str) -> str | None:
    match = _CLAUSE.match(clause)
    if match is None:
        return clause
    lead, operator, gap, old, trail = match.groups()
    try:
        current = Version(old.removesuffix(".*"))
    except InvalidVersion:
        return clause
    new = _new_bound(operator, current, old, target, version)
    if new is None:
        return None
    new_operator, new_version = new
    return f"{lead}{new_operator}{gap}{new_version}{trail}"


def _new_bound(
    operator: str, current: Version, old: str, target: Version, version: str
) -> tuple[str, str] | None:
    """(operator, version) of one clause after the move; None drops the clause."""
    if operator in ("==", "===", ">=") and current == target:
        return (operator, old)
    if operator in ("==", "==="):
        return ("==", version)
    if operator in (">=", ">"):
        return (">=", version)
    if operator == "~=":
        parts = max(2, len(old.split(".")))
        return ("~=", ".".join(str(n) for n in (*target.release, 0, 0)[:parts]))
    if operator == "!=":
        return None if current == target else (operator, old)
    if operator == "<=" and target > current:
        return ("<=", version)
    if operator == "<" and target >= current:
        return ("<", str(target.major + 1))
    return (operator, old)


# ---------------------------------------------------------------------------- files


def edit_requirements(path: str, text: str, name: str, version: str) -> tuple[str, list[Edit]]:
    """A requirements file with ``name``'s lines moved to ``version``."""
    lines = text.splitlines(keepends=True)
    edits: list[Edit] = []
    for index, line in enumerate(lines):
        body = line.rstrip("\r\n")
        stripped = body.strip()
        if not stripped or stripped.startswith(("#", "-")) or "://" in stripped:
            continue
        new = rewrite(stripped, name, version)
        if new is not None and new != stripped:
            lines[index] = line.replace(stripped, new, 1)
            edits.append(Edit(path, stripped, new))
    return "".join(lines), edits


def declared(text: str, name: str, *, pyproject: bool) -> list[str]:
    """The requirement strings of ``name`` in a requirements file or a pyproject."""
    if pyproject:
        return [req for _, _, req in _pyproject_requirements(text) if _is(req, name)]
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-")) and _is(line, name)]


def _is(requirement: str, name: str) -> bool:
    match = _REQUIREMENT.match(requirement.strip())
    return match is not None and normalise(match.group("name")) == normalise(name)


def edit_pyproject(path: str, text: str, name: str, version: str) -> tuple[str, list[Edit]]:
    """A pyproject.toml with ``name`` moved to ``version`` in its dependency arrays."""
    lines = text.splitlines(keepends=True)
    edits: list[Edit] = []
    for index, span, requirement in reversed(list(_pyproject_requirements(text))):
        new = rewrite(requirement, name, version)
        if new is None or new == requirement:
            continue
        start, end = span
        line = lines[index]
        lines[index] = line[: start + 1] + new + line[end - 1 :]
        edits.append(Edit(path, requirement, new))
    return "".join(lines), edits[::-1]


def _pyproject_requirements(text: str) -> list[tuple[int, tuple[int, int], str]]:
    """(line, span of the quoted string, requirement) for each dependency array entry."""
    found: list[tuple[int, tuple[int, int], str]] = []
    table = ""
    depth = 0
    for index, line in enumerate(text.splitlines(keepends=True)):
        if depth == 0:
            header = _TABLE.match(line)
            if header:
                table = header.group("table").strip()
                continue
            start = _ARRAY_START.match(line)
            if start is None or not _holds_dependencies(table, start.group("key")):
                continue
            offset = line.index("[", start.start("key"))
        else:
            offset = 0
        depth, strings = _scan(line, offset, depth)
        found += [(index, span, value) for span, value in strings]
    return found


def _holds_dependencies(table: str, key: str) -> bool:
    key = key.strip("\"'")
    if table == "project":
        return key == "dependencies"
    return table in ("project.optional-dependencies", "dependency-groups")


def _scan(line: str, offset: int, depth: int) -> tuple[int, list[tuple[tuple[int, int], str]]]:
    """Bracket depth after ``line`` (from ``offset``) and the strings found at depth 1."""
    strings: list[tuple[tuple[int, int], str]] = []
    position = offset
    while position < len(line):
        letter = line[position]
        string = _STRING.match(line, position) if letter in "\"'" else None
        if string is not None:
            if depth == 1:
                strings.append((string.span(), string.group()[1:-1]))
            position = string.end()
            continue
        if letter == "#":
            break
        depth += {"[": 1, "]": -1}.get(letter, 0)
        position += 1
    return depth, strings
