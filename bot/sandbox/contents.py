"""contents (routes being added)."""

from __future__ import annotations

from bot.sandbox.routing import Router

router = Router()
