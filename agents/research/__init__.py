"""Research agents: independent analysts run concurrently over a worktree.

Entry point: :func:`research` (``agents.research.runner.research``) returns frozen,
JSON-serialisable :class:`Findings`.
"""

from __future__ import annotations

from agents.research.base import ResearchAgent, ResearchContext
from agents.research.model import (
    AgentTiming,
    ApiSpec,
    ApiSpecKind,
    Contribution,
    Degradation,
    Findings,
    LanguageShare,
    Note,
    NoteKind,
    ProjectProfile,
    RelevantFile,
)
from agents.research.runner import DEFAULT_BUDGET_SECONDS, DEFAULT_TOP_N, default_agents, research

__all__ = [
    "DEFAULT_BUDGET_SECONDS",
    "DEFAULT_TOP_N",
    "AgentTiming",
    "ApiSpec",
    "ApiSpecKind",
    "Contribution",
    "Degradation",
    "Findings",
    "LanguageShare",
    "Note",
    "NoteKind",
    "ProjectProfile",
    "RelevantFile",
    "ResearchAgent",
    "ResearchContext",
    "default_agents",
    "research",
]
