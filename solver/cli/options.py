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


class OutputPath(click.Path):
    """A file the command will write, checked before any work starts: its folder exists and is
    writable, and the path is not a folder.  Exit 2 with the reason otherwise."""

    def __init__(self, path_type: type | None = None):
        super().__init__(dir_okay=False, path_type=path_type)

    def convert(self, value, param, ctx):
        import os
        from pathlib import Path

        p = Path(os.fsdecode(value))
        folder = p.parent
        if p.is_dir():
            self.fail(f"{p} is a folder; give a file name inside it", param, ctx)
        if not folder.is_dir():
            self.fail(f"the folder {folder} does not exist (create it first)", param, ctx)
        if not os.access(folder, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
            self.fail(f"{p} cannot be written (no write permission, or a read-only file system)", param, ctx)
        return super().convert(value, param, ctx)


def parse_variants(variants: tuple[str, ...]) -> list[tuple[str, str]]:
    from solver.errors import GpuplanError

    parsed = []
    for v in variants:
        name, sep, path = v.partition("=")
        if not sep or not name or not path:
            raise GpuplanError(f"--variant takes NAME=OVERLAY.yaml (got '{v}')")
        if name == "base":
            raise GpuplanError("'base' names the unmodified catalog; choose another variant name")
        if name in [n for n, _ in parsed]:
            raise GpuplanError(f"variant '{name}' is given twice")
        parsed.append((name, path))
    return parsed
