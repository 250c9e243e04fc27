"""The live dashboard: plans, runs, queue and GitHub budgets as a view, rendered as HTML or text.

- :mod:`bot.dashboard.view`: the pure core, :func:`dashboard_view` (a :class:`Snapshot`
  in, a :class:`DashboardView` out);
- :mod:`bot.dashboard.render`: the page served at ``/dashboard`` (server-rendered, inline
  CSS, refreshed by a ``<meta>`` tag, readable without JavaScript) and the lines
  ``techlead status`` prints; ``/dashboard.json`` is the view itself;
- :mod:`bot.dashboard.web`: reading the snapshot, the access rule and the routes that
  ``bot.app`` adds.
"""

from bot.dashboard.render import render_html, render_text, text_bar
from bot.dashboard.view import (
    DASHBOARD_PATH,
    DAY,
    HOUR,
    JSON_PATH,
    DashboardView,
    FinishedJob,
    Snapshot,
    Tone,
    dashboard_view,
)
from bot.dashboard.web import MSG_REFUSED, Access, DashboardSource, access, add_routes

__all__ = [
    "DASHBOARD_PATH",
    "DAY",
    "HOUR",
    "JSON_PATH",
    "MSG_REFUSED",
    "Access",
    "DashboardSource",
    "DashboardView",
    "FinishedJob",
    "Snapshot",
    "Tone",
    "access",
    "add_routes",
    "dashboard_view",
    "render_html",
    "render_text",
    "text_bar",
]
