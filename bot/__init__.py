"""TechLead: a Git-native pull-request automation bot that acts as a tech lead."""

from __future__ import annotations

__version__ = "0.1.0"
