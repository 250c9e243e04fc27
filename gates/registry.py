"""Which module implements each gate level; adding a gate is adding a line here."""

from __future__ import annotations

import importlib
from typing import Protocol, cast

from gates.config import GateConfig, GateLevel
from gates.model import Scan
from gates.revision import GateInput
from gates.tools import ToolRunner


class Gate(Protocol):
    """A gate: a module (or object) with its level, its title and a ``scan``.

    ``scan`` runs the gate's tools on the changed files of ``inp`` (at head, and at base
    where it needs to compare) through ``tools`` and returns what they reported; the
    runner fingerprints, filters and judges it. It never decides the conclusion itself.
    """

    LEVEL: GateLevel
    TITLE: str

    def scan(self, inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan: ...


REGISTRY: dict[GateLevel, str] = {
    GateLevel.L1: "gates.lint",
    GateLevel.L2: "gates.contracts",
    GateLevel.L3: "gates.integration",
    GateLevel.L4: "gates.perf",
    GateLevel.L5: "gates.security",
}


# Gates that read only the changed files and their settings: a local run of just these
# gets a head holding only those, not an export of the whole tree.
CHANGED_FILES_ONLY: frozenset[GateLevel] = frozenset({GateLevel.L1, GateLevel.L5})


def load(level: GateLevel) -> Gate:
    """The gate module of ``level`` (imported only when it runs)."""
    return cast(Gate, importlib.import_module(REGISTRY[level]))


def available() -> dict[GateLevel, Gate]:
    return {level: load(level) for level in REGISTRY}
