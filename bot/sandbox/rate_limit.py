"""GET /rate_limit: the caller's budget, free of charge as on GitHub."""

from __future__ import annotations

from typing import Any

from bot.sandbox.ratelimit import Budget, RateLimiter
from bot.sandbox.routing import Ctx, Router

router = Router()


def _as_json(budget: Budget) -> dict[str, int]:
    return {
        "limit": budget.limit,
        "remaining": budget.remaining,
        "reset": int(budget.reset_at),
        "used": budget.used,
    }


@router.get("/rate_limit")
def get_rate_limit(ctx: Ctx) -> dict[str, Any]:
    limiter: RateLimiter = ctx.services["limiter"]
    # "Accessing this endpoint does not count against your REST API rate limit."
    budget = limiter.refund(ctx.principal.rate_key)
    core = _as_json(budget)
    search = {"limit": 30, "remaining": 30, "reset": core["reset"], "used": 0}
    return {"resources": {"core": core, "search": search}, "rate": core}
