"""Reviews on pull requests: code-review, security and docs reviewers comment on the diff.

:mod:`~bot.features.reviews.flow` reviews each pull request head and publishes what is
new; :mod:`~bot.features.reviews.commands` answers ``/techlead refine``, ``explain`` and
``ignore`` where reviewers talk.
"""

from __future__ import annotations

from bot.features.reviews import commands, flow
from bot.jobs import JobRegistry
from bot.router import Router

router = Router.compose(flow.router, commands.router)
jobs = JobRegistry.compose(flow.jobs, commands.jobs)
