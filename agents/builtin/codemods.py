"""libcst codemods for common bandit findings, applied to one module's source (pure).

- ``yaml-load`` (B506): ``yaml.load(x)`` / ``yaml.load_all(x)`` without a Loader or with
  an unsafe one (``Loader``, ``UnsafeLoader``, ``FullLoader`` and their C versions)
  becomes ``yaml.safe_load(x)``; a safe or custom Loader is left alone.
- ``verify-false`` (B501): ``verify=False`` is removed from requests and httpx calls.
- ``request-timeout`` (B113): requests calls without ``timeout=`` (or with
  ``timeout=None``) get ``timeout=DEFAULT_TIMEOUT``; httpx calls with ``timeout=None``
  too. A call passing ``**kwargs`` may already carry a timeout and is left alone.
- ``shell-true`` (B602): ``subprocess.run("ls -l docs", shell=True)`` becomes
  ``subprocess.run(["ls", "-l", "docs"])`` when the command is a plain string literal
  whose words need no shell: no pipes, redirections, variables, globs, builtins.

Calls are recognised by their qualified names, so ``import requests as r`` and
``from yaml import load`` are found too; formatting and comments are kept.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Callable, Collection, Sequence

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import QualifiedNameProvider

YAML_LOAD = "yaml-load"
VERIFY_FALSE = "verify-false"
REQUEST_TIMEOUT = "request-timeout"
SHELL_TRUE = "shell-true"
FIXES = (YAML_LOAD, VERIFY_FALSE, REQUEST_TIMEOUT, SHELL_TRUE)
DEFAULT_TIMEOUT = 30  # seconds; requests waits forever without one

_HTTP_VERBS = frozenset({"get", "options", "head", "post", "put", "patch", "delete", "request"})
_HTTPX = _HTTP_VERBS | {"stream", "Client", "AsyncClient"}
_SAFE_LOADERS = frozenset({"SafeLoader", "CSafeLoader"})
_UNSAFE_LOADERS = frozenset(
    {"Loader", "UnsafeLoader", "FullLoader", "CLoader", "CUnsafeLoader", "CFullLoader"}
)
_YAML = {"yaml.load": "safe_load", "yaml.load_all": "safe_load_all"}
_SUBPROCESS = frozenset(
    f"subprocess.{name}" for name in ("run", "call", "check_call", "check_output", "Popen")
)
# Characters that make a command need a shell: pipes, redirections, expansions, globs.
_SHELL_CHARACTERS = frozenset("|&;<>()$`\\*?[]{}~!#\n\r")
# What a module must contain for a fix to have anything to do: the module imported, and
# the call's telling part.
_HTTP_IMPORT = rb"(?m)^\s*(?:import\s[^#\n]*\b|from\s+)(?:requests|httpx)\b"
_HINTS = {
    YAML_LOAD: (rb"(?m)^\s*(?:import\s[^#\n]*\b|from\s+)yaml\b", rb"\bload(?:_all)?\s*\("),
    VERIFY_FALSE: (_HTTP_IMPORT, rb"\bverify\s*=\s*False\b"),
    REQUEST_TIMEOUT: (_HTTP_IMPORT,),
    SHELL_TRUE: (rb"(?m)^\s*(?:import\s[^#\n]*\b|from\s+)subprocess\b", rb"\bshell\s*=\s*True\b"),
}


def might_apply(kind: str, code: bytes) -> bool:
    """Whether ``code`` can hold a call the fix ``kind`` rewrites (a cheap text check)."""
    return all(re.search(pattern, code) for pattern in _HINTS[kind])


_SHELL_BUILTINS = frozenset(
    {"cd", "export", "source", ".", "alias", "set", "unset", "ulimit", "eval", "exit", "exec"}
    | {"type", "read", "shopt", "umask", "trap", "wait", "jobs", "fg", "bg", "history"}
)


def fix_source(code: bytes, wanted: Collection[str] = FIXES) -> tuple[bytes, Counter[str]]:
    """(new source, fixes applied by kind); raises libcst.ParserSyntaxError on bad Python."""
    wanted = [kind for kind in wanted if might_apply(kind, code)]
    if not wanted:
        # Resolving qualified names costs about a second per thousand lines: a module
        # that cannot hold any of the calls is not parsed at all.
        return code, Counter()
    module = cst.parse_module(code)
    command = BanditFixes(CodemodContext(), frozenset(wanted))
    fixed = command.transform_module(module)
    return fixed.bytes, command.applied


class BanditFixes(VisitorBasedCodemodCommand):
    """Rewrites the calls bandit flags, where the safe form is known."""

    DESCRIPTION = "Fix common bandit findings."
    METADATA_DEPENDENCIES = (QualifiedNameProvider,)

    def __init__(self, context: CodemodContext, wanted: frozenset[str]) -> None:
        super().__init__(context)
        self.wanted = wanted
        self.applied: Counter[str] = Counter()

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, original_node, set())}
        call = updated_node
        for kind, fix in (
            (YAML_LOAD, self._yaml),
            (VERIFY_FALSE, _verify),
            (REQUEST_TIMEOUT, _timeout),
            (SHELL_TRUE, _shell),
        ):
            if kind not in self.wanted:
                continue
            fixed = fix(call, names)
            if fixed is not None:
                call = fixed
                self.applied[kind] += 1
        return call

    def _yaml(self, call: cst.Call, names: set[str]) -> cst.Call | None:
        found = [name for name in names if name in _YAML]
        if not found:
            return None
        position, loader = _loader(call.args)
        if loader is not None and _last_name(loader.value) not in _UNSAFE_LOADERS:
            return None
        safe = _YAML[found[0]]
        if loader is not None and isinstance(loader.value, cst.Name):
            RemoveImportsVisitor.remove_unused_import(self.context, "yaml", loader.value.value)
        args = _drop(call.args, lambda i, arg: i == position)
        func = call.func
        if isinstance(func, cst.Attribute):
            func = func.with_changes(attr=cst.Name(safe))
        elif isinstance(func, cst.Name):
            AddImportsVisitor.add_needed_import(self.context, "yaml", safe)
            RemoveImportsVisitor.remove_unused_import(self.context, "yaml", func.value)
            func = cst.Name(safe)
        else:
            return None
        return call.with_changes(func=func, args=args)


def _loader(args: Sequence[cst.Arg]) -> tuple[int, cst.Arg | None]:
    """(index, arg) of yaml's Loader: the keyword ``Loader=`` or the second positional."""
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == "Loader":
            return index, arg
    positional = [i for i, arg in enumerate(args) if arg.keyword is None and not arg.star]
    if len(positional) > 1:
        return positional[1], args[positional[1]]
    return -1, None


def _verify(call: cst.Call, names: set[str]) -> cst.Call | None:
    if not _is_http(names, httpx=True) or _keyword(call, "verify") is None:
        return None
    if not _is_name(_keyword(call, "verify"), "False"):
        return None
    return call.with_changes(args=_drop(call.args, lambda i, arg: _named(arg, "verify")))


def _timeout(call: cst.Call, names: set[str]) -> cst.Call | None:
    requests, httpx = _is_http(names, httpx=False), _is_http(names, httpx=True)
    timeout = _keyword(call, "timeout")
    if timeout is not None and (requests or httpx) and _is_name(timeout, "None"):
        value = cst.Integer(str(DEFAULT_TIMEOUT))
        args = [a.with_changes(value=value) if _named(a, "timeout") else a for a in call.args]
        return call.with_changes(args=args)
    if not requests or timeout is not None or not call.args:
        return None
    if any(arg.star == "**" for arg in call.args):
        return None
    tight = cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )
    value = cst.Integer(str(DEFAULT_TIMEOUT))
    return _append(call, cst.Arg(value, keyword=cst.Name("timeout"), equal=tight))


def _shell(call: cst.Call, names: set[str]) -> cst.Call | None:
    if not names & _SUBPROCESS or not _is_name(_keyword(call, "shell"), "True"):
        return None
    if _keyword(call, "executable") is not None or not call.args:
        return None
    first = call.args[0]
    if first.keyword is not None or first.star or not isinstance(first.value, cst.SimpleString):
        return None
    argv = safe_argv(first.value)
    if argv is None:
        return None
    quote = first.value.quote[0]
    elements = [
        cst.Element(cst.SimpleString(_quoted(word, quote)), comma=_comma(i, len(argv)))
        for i, word in enumerate(argv)
    ]
    args = [first.with_changes(value=cst.List(elements)), *call.args[1:]]
    args = _drop(args, lambda i, arg: _named(arg, "shell"))
    return call.with_changes(args=args)


def safe_argv(literal: cst.SimpleString) -> list[str] | None:
    """The words of a literal command when running it without a shell is the same."""
    if any(letter in literal.prefix.lower() for letter in "bf"):
        return None
    command = literal.evaluated_value
    if not isinstance(command, str) or set(command) & _SHELL_CHARACTERS:
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or "=" in words[0] or words[0] in _SHELL_BUILTINS:
        return None
    return words


def _quoted(word: str, quote: str) -> str:
    if quote in word or "\\" in word or not word.isprintable():
        return repr(word)
    return f"{quote}{word}{quote}"


def _comma(index: int, count: int) -> cst.Comma | cst.MaybeSentinel:
    if index == count - 1:
        return cst.MaybeSentinel.DEFAULT
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


# ---------------------------------------------------------------------------- call helpers


def _is_http(names: set[str], *, httpx: bool) -> bool:
    for name in names:
        module, _, function = name.partition(".")
        if module == "requests" and function in _HTTP_VERBS:
            return True
        if httpx and module == "httpx" and function in _HTTPX:
            return True
    return False


def _keyword(call: cst.Call, keyword: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if _named(arg, keyword):
            return arg.value
    return None


def _named(arg: cst.Arg, keyword: str) -> bool:
    return arg.keyword is not None and arg.keyword.value == keyword


def _is_name(node: cst.BaseExpression | None, value: str) -> bool:
    return isinstance(node, cst.Name) and node.value == value


def _last_name(node: cst.BaseExpression) -> str:
    """``FullLoader`` for ``yaml.FullLoader`` and ``FullLoader``; "" for anything else."""
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return node.value if isinstance(node, cst.Name) else ""


def _drop(args: Sequence[cst.Arg], drop: Callable[[int, cst.Arg], bool]) -> list[cst.Arg]:
    """``args`` without those ``drop(index, arg)`` selects; the last keeps its comma style."""
    kept = [arg for index, arg in enumerate(args) if not drop(index, arg)]
    if kept and args and kept[-1] is not args[-1]:
        kept[-1] = kept[-1].with_changes(comma=args[-1].comma)
    return kept


def _append(call: cst.Call, new: cst.Arg) -> cst.Call:
    """``call`` with ``new`` as its last argument, on its own line if the call is split."""
    args = list(call.args)
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # A trailing comma: the new argument goes after it, indented like the last one.
        before_last = args[-2].comma if len(args) > 1 else None
        indent = (
            before_last.whitespace_after
            if isinstance(before_last, cst.Comma)
            else call.whitespace_before_args
        )
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=indent))
        new = new.with_changes(comma=last.comma)
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=[*args, new])
