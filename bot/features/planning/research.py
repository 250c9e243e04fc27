"""Researches an issue over the repository's default branch, checked out through the workspace.

The mirror is fetched with the port's git credentials (the workspace passes them as
``http.extraHeader``, never in a URL) from the remote derived from
``Settings.api_url``; research reads a throwaway worktree of the default branch. A git
failure degrades the findings (the plan says research is incomplete) instead of
failing the plan; GitHub API errors propagate so the job queue retries.
"""

from __future__ import annotations

from agents.research import Degradation, Findings, research
from bot.errors import WorkspaceError
from bot.ports import GitHubPort
from bot.settings import Settings
from bot.workspace import Identity, Workspace

# Research only reads; the identity would sign commits, which it never makes.
COMMITTER = Identity("TechLead", "techlead@users.noreply.github.com")
WORKTREE_LABEL = "research"
WORKSPACE_AGENT = "workspace"


def research_issue(
    github: GitHubPort, settings: Settings, repo: str, query: str, *, budget_seconds: float
) -> Findings:
    """Findings for ``query`` over ``repo``'s default branch; never raises for git trouble."""
    branch = github.default_branch(repo)
    workspace = Workspace(settings, committer=COMMITTER, credentials=github.git_credentials)
    try:
        workspace.fetch(repo, [branch])
        with workspace.worktree(repo, branch, label=WORKTREE_LABEL) as tree:
            return research(tree.path, query, budget_seconds=budget_seconds)
    except WorkspaceError as exc:
        return Findings(degraded=(Degradation(WORKSPACE_AGENT, str(exc)),))
