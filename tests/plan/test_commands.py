"""Comment commands: anchoring, code blocks, quotes, case, arguments, unknown words."""

from __future__ import annotations

import pytest

from bot.plan.commands import Command, CommandKind, help_text, parse_commands


def _kinds(body: str, command: str = "/techlead") -> list[tuple[CommandKind, tuple[str, ...]]]:
    return [(c.kind, c.args) for c in parse_commands(body, command)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/techlead approve", [(CommandKind.APPROVE, ())]),
        ("/TechLead APPROVE", [(CommandKind.APPROVE, ())]),
        ("  /techlead plan", [(CommandKind.PLAN, ())]),
        ("/techlead replan", [(CommandKind.PLAN, ())]),
        ("/techlead retry T3", [(CommandKind.RETRY, ("T3",))]),
        ("/techlead retry t3, T4 t3", [(CommandKind.RETRY, ("T3", "T4"))]),
        ("/techlead skip 5", [(CommandKind.SKIP, ("T5",))]),
        ("/techlead skip `T5`", [(CommandKind.SKIP, ("T5",))]),
        ("/techlead cancel", [(CommandKind.CANCEL, ())]),
        ("/techlead status", [(CommandKind.STATUS, ())]),
        ("/techlead help", [(CommandKind.HELP, ())]),
        ("/techlead", [(CommandKind.HELP, ())]),
        ("/techlead approve.", [(CommandKind.APPROVE, ())]),
        ("Thanks!\n/techlead approve\nand\n/techlead status", [
            (CommandKind.APPROVE, ()), (CommandKind.STATUS, ())]),
        ("/techlead frobnicate now", [(CommandKind.UNKNOWN, ("now",))]),
        ("please /techlead approve", []),
        ("`/techlead approve`", []),
        ("> /techlead approve", []),
        ("   > /techlead approve", []),
        ("```\n/techlead approve\n```", []),
        ("~~~~\n/techlead approve\n```\n~~~~\n/techlead status", [(CommandKind.STATUS, ())]),
        ("```python\n/techlead approve\n", []),
        ("<!--\n/techlead approve\n-->\n/techlead plan", [(CommandKind.PLAN, ())]),
        ("/techleader approve", []),
        ("/techlead-bot approve", []),
        ("    /techlead approve", []),
    ],
    ids=["plain", "case", "indented", "alias", "retry", "several-ids", "bare-number",
         "inline-code-arg", "cancel", "status", "help", "bare-word", "trailing-dot",
         "several-lines", "unknown", "not-line-start", "inline-code", "quote",
         "indented-quote", "fence", "tilde-fence", "unclosed-fence", "html-comment",
         "longer-word", "hyphenated-word", "indented-code"],
)  # fmt: skip
def test_commands(body: str, expected: list) -> None:
    assert _kinds(body) == expected


def test_unknown_commands_keep_their_word_for_the_handler() -> None:
    (command,) = parse_commands("/techlead review please")
    assert command == Command(CommandKind.UNKNOWN, "review", ("please",), "/techlead review please")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("/techlead retry", "`/techlead retry` needs a task id, like `/techlead retry T3`"),
        ("/techlead skip banana", "`banana` is not a task id"),
    ],
    ids=["missing", "malformed"],
)
def test_task_commands_explain_bad_arguments(body: str, problem: str) -> None:
    (command,) = parse_commands(body)
    assert command.problem is not None and problem in command.problem


def test_the_command_word_is_a_parameter() -> None:
    assert _kinds("/lead approve\n/techlead status", "/lead") == [(CommandKind.APPROVE, ())]


def test_help_text_names_the_command_word() -> None:
    assert "`/lead retry T3`" in help_text("/lead")
