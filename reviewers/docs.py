"""The docs stream: new public functions, classes and endpoints without docstrings,
public API changes without documentation (when the repository asks for it), and broken
relative links and anchors in changed Markdown."""

from __future__ import annotations

import ast
import posixpath
import re
import unicodedata
from collections.abc import Iterator
from pathlib import PurePosixPath

from gates.config import Severity
from reviewers import pysource, texts
from reviewers.code import is_test_path
from reviewers.model import Comment, ReviewInput, Stream, lines_of

HTTP_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket"}
)
DOC_FILES = re.compile(r"(^|/)(README|CHANGELOG|CHANGES|HISTORY|NEWS)[^/]{0,40}$|(^|/)docs?/", re.I)
# [text](target "title"): bounded runs, one line at a time, so matching stays linear.
_LINK = re.compile(
    r"\[[^\]\n]{0,500}\]\(\s{0,10}<?([^)\s>]{1,500})>?(?:\s{1,10}\"[^\"\n]{0,200}\")?\s{0,10}\)"
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{0,30}:")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.{0,500}?)[ \t#]{0,100}$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HTML_ID = re.compile(r"""(?:id|name)\s{0,5}=\s{0,5}["']([^"'\n]{1,200})["']""")


def review(inp: ReviewInput) -> list[Comment]:
    comments: list[Comment] = []
    for path, file in sorted(inp.diff.files.items()):
        if file.deleted or file.binary or not file.added:
            continue
        if path.endswith(".py") and not is_test_path(path):
            comments += _docstrings(inp, path, file.added)
        elif path.lower().endswith((".md", ".markdown")):
            comments += _links(inp, path, file.added)
    comments += _api_without_docs(inp)
    return comments


# ---------------------------------------------------------------------------- docstrings


def _docstrings(inp: ReviewInput, path: str, added: frozenset[int]) -> Iterator[Comment]:
    text = inp.head(path)
    head = pysource.functions(pysource.parse(text))
    base = pysource.functions(pysource.parse(inp.base(_old_path(inp, path))))
    for name, function in head.items():
        if not function.public or function.def_line not in added or name in base:
            continue
        if function.docstring is not None:
            continue
        kind = _kind(function)
        yield Comment(
            stream=Stream.DOCS,
            rule="missing-docstring",
            path=path,
            line=function.def_line,
            end_line=function.def_line,
            title=texts.DOCSTRING_TITLE.format(kind=kind, name=name),
            body=texts.DOCSTRING_BODY.format(kind=kind),
            severity=Severity.INFO,
            suggestion=_stub(text or "", function, kind),
            snippet=name,
        )


def _kind(function: pysource.Function) -> str:
    if function.is_class:
        return "class"
    for decorator in function.node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in HTTP_DECORATORS:
            return "endpoint"
    return "function"


def _stub(text: str, function: pysource.Function, kind: str) -> str | None:
    """The def line followed by a one-line docstring, when the signature is one line."""
    body = function.node.body
    if not body or body[0].lineno != function.def_line + 1:
        return None  # a multi-line signature, or a body on the def line
    signature = lines_of(text, function.def_line)
    indent = " " * (getattr(body[0], "col_offset", 0))
    summary = texts.DOCSTRING_SUMMARY[kind].format(name=function.name.rsplit(".", 1)[-1])
    ending = "" if signature.endswith("\n") else "\n"
    return f"{signature}{ending}{indent}{texts.DOCSTRING_STUB.format(summary=summary)}\n"


def _old_path(inp: ReviewInput, path: str) -> str:
    file = inp.diff.get(path)
    return file.old_path if file is not None and file.old_path else path


# ----------------------------------------------------------------------------- public API


def _api_without_docs(inp: ReviewInput) -> list[Comment]:
    if not inp.settings.docs_required or any(DOC_FILES.search(p) for p in inp.diff.files):
        return []
    changed: list[tuple[str, str]] = []
    for path, file in sorted(inp.diff.files.items()):
        if path.endswith(".py") and not is_test_path(path) and not file.binary:
            changed += [(path, name) for name in _api_changes(inp, path)]
    if not changed:
        return []
    names = ", ".join(f"`{name}`" for _, name in changed[:5]) + (
        ", ..." if len(changed) > 5 else ""
    )
    return [
        Comment(
            stream=Stream.DOCS,
            rule="api-without-docs",
            path=changed[0][0],
            line=0,
            title=texts.API_DOCS_TITLE,
            body=texts.API_DOCS_BODY.format(names=names),
            severity=Severity.LOW,
            snippet="api-without-docs",
        )
    ]


def _api_changes(inp: ReviewInput, path: str) -> list[str]:
    head = _signatures(inp.head(path))
    base = _signatures(inp.base(_old_path(inp, path)))
    return sorted(name for name in head.keys() | base.keys() if head.get(name) != base.get(name))


def _signatures(text: str | None) -> dict[str, str]:
    """Each public def's parameters (``"class"`` for a class), by dotted name."""
    found = pysource.functions(pysource.parse(text))
    return {name: _signature(f.node) for name, f in found.items() if f.public}


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    return "class" if isinstance(node, ast.ClassDef) else ast.unparse(node.args)


# ---------------------------------------------------------------------------------- links


def _links(inp: ReviewInput, path: str, added: frozenset[int]) -> Iterator[Comment]:
    text = inp.head(path) or ""
    for number, row in enumerate(text.splitlines(), start=1):
        if number not in added:
            continue
        for match in _LINK.finditer(row):
            reason = _broken(inp, path, text, match.group(1))
            if reason is not None:
                yield Comment(
                    stream=Stream.DOCS,
                    rule="broken-link",
                    path=path,
                    line=number,
                    title=texts.LINK_TITLE.format(target=match.group(1)),
                    body=texts.LINK_BODY.format(reason=reason),
                    severity=Severity.LOW,
                    snippet=match.group(1),
                )


def _broken(inp: ReviewInput, path: str, text: str, target: str) -> str | None:
    """Why a relative link is broken, or None (absolute links are not checked)."""
    if _SCHEME.match(target) or target.startswith("//"):
        return None
    file_part, _, anchor = target.partition("#")
    if file_part.startswith("/"):
        resolved = file_part.lstrip("/")
    elif file_part:
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), file_part))
    else:
        resolved = path
    resolved = resolved.split("?", 1)[0]
    if resolved.startswith("../") or resolved == "..":
        return None  # outside the repository (a wiki, a sibling site): not ours to judge
    if resolved != path and not inp.exists(resolved):
        return texts.LINK_NO_FILE.format(path=resolved)
    if anchor and resolved.lower().endswith((".md", ".markdown")):
        linked = text if resolved == path else inp.head(resolved) or ""
        if anchor.lower() not in anchors(linked):
            return texts.LINK_NO_ANCHOR.format(path=PurePosixPath(resolved).name, anchor=anchor)
    return None


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes for a Markdown file: one per heading, plus HTML ids."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    fence: str | None = None
    for row in markdown.splitlines():
        opened = _FENCE.match(row)
        if opened and (fence is None or opened.group(1)[0] == fence[0]):
            fence = None if fence is not None else opened.group(1)
            continue
        if fence is not None:
            continue
        heading = _HEADING.match(row)
        if heading:
            slug = slugify(heading.group(2))
            seen = counts.get(slug, 0)
            counts[slug] = seen + 1
            found.add(slug if seen == 0 else f"{slug}-{seen}")
        found.update(value.lower() for value in _HTML_ID.findall(row))
    return found


def slugify(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>\n]{0,200}>", "", heading)  # inline HTML tags
    text = re.sub(r"!?\[([^\]\n]{0,500})\]\([^)\n]{0,500}\)", r"\1", text)  # links keep text
    kept = []
    for char in text.lower():
        if char in " -_" or unicodedata.category(char)[0] in "LN":
            kept.append("-" if char == " " else char)
    return "".join(kept)
