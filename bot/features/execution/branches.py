"""Branch names for a plan's integration branch and its task branches, from the config templates."""

from __future__ import annotations

import re

from bot.workspace import check_ref

_SLUG_CHARS = re.compile(r"[^a-z0-9]+")
SLUG_WORDS = 6
SLUG_CHARS = 40


def slug(text: str) -> str:
    """``Add coupons to the cart!`` -> ``add-coupons-to-the-cart`` (short, ref-safe)."""
    words = _SLUG_CHARS.sub(" ", text.lower()).split()[:SLUG_WORDS]
    return "-".join(words)[:SLUG_CHARS].strip("-") or "work"


def integration_branch(template: str, issue: int, title: str) -> str:
    return check_ref(template.format(issue=issue, slug=slug(title), task="", task_slug=""))


def task_branch(template: str, issue: int, title: str, task_id: str, task_title: str) -> str:
    name = template.format(issue=issue, slug=slug(title), task=task_id, task_slug=slug(task_title))
    return check_ref(name)
