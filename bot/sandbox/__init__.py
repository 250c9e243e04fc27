"""A local, stateful stand-in for GitHub's REST API (see the module list below)."""

from __future__ import annotations

from bot.sandbox.clock import Clock, ManualClock, SystemClock
from bot.sandbox.sandbox import Sandbox

__all__ = ["Clock", "ManualClock", "Sandbox", "SystemClock"]
