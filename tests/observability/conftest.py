"""The execution tests' sandbox, TechLead and project fixtures, for orchestration metrics."""

from tests.execution.conftest import project, sandbox_session, techlead

__all__ = ["project", "sandbox_session", "techlead"]
