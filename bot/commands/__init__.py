"""Subcommands of the ``techlead`` command line, one module each."""
