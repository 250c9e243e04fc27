"""Reads TechLead commands ("/techlead approve") out of a comment body.

A command is a line that starts (after at most three spaces) with the command word,
case-insensitively. Lines inside fenced code blocks (``` or ~~~), quotes (``>``) and
HTML comments are ignored, and so is a command word inside inline code, which cannot
start a line. An unknown subcommand becomes ``CommandKind.UNKNOWN`` with its word in
``name`` so the handler can explain (or route it to another feature).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bot.plan import templates

DEFAULT_COMMAND = "/techlead"
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_QUOTE = re.compile(r"^\s{0,3}>")
_COMMENT_OPEN = "<!--"
_COMMENT_CLOSE = "-->"
_TASK_ID = re.compile(r"^#?[Tt]?(\d{1,4})$")
_ARGUMENT_SPLIT = re.compile(r"[\s,]+")


class CommandKind(enum.StrEnum):
    PLAN = "plan"
    APPROVE = "approve"
    RETRY = "retry"
    SKIP = "skip"
    CANCEL = "cancel"
    STATUS = "status"
    HELP = "help"
    UNKNOWN = "unknown"


_ALIASES = {"replan": CommandKind.PLAN, "stop": CommandKind.CANCEL, "lgtm": CommandKind.APPROVE}
_NEEDS_TASK = frozenset({CommandKind.RETRY, CommandKind.SKIP})


@dataclass(frozen=True)
class Command:
    """One command. ``args`` holds task ids for retry/skip; ``problem`` says what is
    wrong with an otherwise recognised command; ``version`` is the plan version a
    ticked checkbox belonged to."""

    kind: CommandKind
    name: str = ""
    args: tuple[str, ...] = ()
    raw: str = ""
    version: int | None = None
    problem: str | None = None


def parse_commands(body: str, command: str = DEFAULT_COMMAND) -> list[Command]:
    """Every command in ``body``, in order."""
    pattern = re.compile(rf"^\s{{0,3}}{re.escape(command)}(?![\w-])(.*)$", re.IGNORECASE)
    found = []
    for line in _command_lines(body):
        match = pattern.match(line)
        if match:
            found.append(_command(match.group(1), line.strip(), command))
    return found


def _command_lines(body: str) -> list[str]:
    """Lines that are plain text: outside fences, quotes and HTML comments."""
    lines = []
    fence: str | None = None
    in_comment = False
    for line in body.splitlines():
        if in_comment:
            if "-->" not in line:
                continue
            in_comment, line = False, line.split("-->", 1)[1]
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        line, in_comment = _without_comments(line)
        if not _QUOTE.match(line):
            lines.append(line)
    return lines


def _without_comments(line: str) -> tuple[str, bool]:
    """The line without its HTML comments (one pass with ``str.find``), and whether a
    comment opened on it is still open at its end."""
    kept = []
    position = 0
    while (start := line.find(_COMMENT_OPEN, position)) >= 0:
        kept.append(line[position:start])
        end = line.find(_COMMENT_CLOSE, start + len(_COMMENT_OPEN))
        if end < 0:
            return "".join(kept), True
        position = end + len(_COMMENT_CLOSE)
    kept.append(line[position:])
    return "".join(kept), False


def _command(rest: str, raw: str, command: str) -> Command:
    words = rest.split(None, 1)
    if not words:
        return Command(CommandKind.HELP, "", (), raw)
    name = words[0].lower().rstrip(".!:;")
    kind = _ALIASES.get(name) or _kind(name)
    arguments = words[1] if len(words) > 1 else ""
    if kind not in _NEEDS_TASK:
        extra = tuple(arguments.split())
        return Command(kind, name, extra if kind is CommandKind.UNKNOWN else (), raw)
    return _task_command(kind, name, arguments, raw, command)


def _kind(name: str) -> CommandKind:
    try:
        kind = CommandKind(name)
    except ValueError:
        return CommandKind.UNKNOWN
    return kind


def _task_command(kind: CommandKind, name: str, arguments: str, raw: str, command: str) -> Command:
    ids: list[str] = []
    for argument in _ARGUMENT_SPLIT.split(arguments.strip().strip("`")):
        if not argument:
            continue
        match = _TASK_ID.match(argument.strip(".!;:`"))
        if match is None:
            problem = templates.COMMAND_BAD_TASK.format(argument=argument)
            return Command(kind, name, tuple(ids), raw, problem=problem)
        ids.append(f"T{int(match.group(1))}")
    if not ids:
        problem = templates.COMMAND_NEEDS_TASK.format(command=command, name=name)
        return Command(kind, name, (), raw, problem=problem)
    return Command(kind, name, tuple(dict.fromkeys(ids)), raw)


def help_text(command: str = DEFAULT_COMMAND) -> str:
    return templates.HELP.format(command=command)
