"""Specialist agents: research agents now, coding agents later."""
