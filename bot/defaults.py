"""Locates the shipped default configuration (``config/`` in the repository)."""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "_config"
_SOURCE_TREE = Path(__file__).resolve().parent.parent / "config"


def config_dir() -> Path:
    """The directory holding the shipped defaults.

    Wheels (and so Docker and Action installs) carry ``config/`` as ``bot/_config``;
    a source checkout or editable install reads ``config/`` at the repository root.
    """
    if _PACKAGED.is_dir():
        return _PACKAGED
    return _SOURCE_TREE


def config_file(name: str) -> Path:
    """A shipped default file by name, e.g. ``config_file("agents.yml")``."""
    return config_dir() / name
