"""Reads CODEOWNERS and answers who owns a path (the last matching pattern wins)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.research.globs import matches
from agents.research.inventory import Inventory

# GitHub looks in these places, in this order, and uses the first file it finds.
# https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
# "#" starts a comment at the start of a line or after white space; "\#" is a literal.
_COMMENT = re.compile(r"(?:^|(?<=\s))#")


@dataclass(frozen=True)
class CodeOwners:
    """Rules in file order; an empty owner list means "no owner" for that pattern."""

    source: str | None
    rules: tuple[tuple[str, tuple[str, ...]], ...]

    def owners(self, path: str) -> tuple[str, ...]:
        for pattern, owners in reversed(self.rules):
            if matches(pattern, path):
                return owners
        return ()


def parse_codeowners(text: str, source: str | None = None) -> CodeOwners:
    rules = []
    for line in text.splitlines():
        parts = _COMMENT.split(line, maxsplit=1)[0].split()
        if not parts:
            continue
        pattern = parts[0].replace("\\#", "#")
        rules.append((pattern, tuple(parts[1:])))
    return CodeOwners(source, tuple(rules))


def load_codeowners(inventory: Inventory) -> CodeOwners:
    for location in LOCATIONS:
        item = inventory.get(location)
        if item is not None and item.text is not None:
            return parse_codeowners(item.text, location)
    return CodeOwners(None, ())
