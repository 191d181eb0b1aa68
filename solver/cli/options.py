"""Options shared by several commands, defined once."""

from __future__ import annotations

import click

catalog_option = click.option(
    "--catalog",
    "catalog_paths",
    multiple=True,
    type=click.Path(path_type=str),
    help="Catalog overlay (file or folder); repeatable, applied in order over the built-in catalog.",
)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "yaml"]),
    default="table",
    show_default=True,
    help="Output format.",
)
