"""Planning commands: memory, estimate, solve, sizing-table, calibrate (registered on the main group)."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Attach the planning commands to `group`."""
