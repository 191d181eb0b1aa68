"""Turn rows (lists of dicts) into tables, JSON, CSV or YAML on stdout."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

import click


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False, default=str)


def to_csv(rows: list[dict]) -> str:
    from solver.io.batch_rows import spreadsheet_safe

    if not rows:
        return ""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: spreadsheet_safe(";".join(map(str, v)) if isinstance(v, list) else v) for k, v in r.items()})
    return buf.getvalue()


def to_yaml(obj: Any) -> str:
    import yaml

    return yaml.safe_dump(json.loads(to_json(obj)), sort_keys=False, allow_unicode=True, width=200)


def print_table(rows: list[dict], title: str | None = None, width: int | None = None) -> None:
    """A rich table on stdout, `width` columns at most (None: the terminal's, 200 when not a terminal)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    if not rows:
        click.echo("(nothing)")
        return
    for k in rows[0]:
        table.add_column(str(k), overflow="fold")
    for r in rows:
        table.add_row(*["" if v is None else (", ".join(map(str, v)) if isinstance(v, list) else str(v)) for v in r.values()])
    tty = sys.stdout.isatty()
    Console(width=width if width and not tty else (None if tty else 200)).print(table)


def emit(rows: list[dict], fmt: str, title: str | None = None, payload: Any = None) -> None:
    """Print rows in `fmt`; `payload` (if given) is what json/yaml print instead of the rows."""
    if fmt == "json":
        click.echo(to_json(payload if payload is not None else rows))
    elif fmt == "yaml":
        click.echo(to_yaml(payload if payload is not None else rows), nl=False)
    elif fmt == "csv":
        click.echo(to_csv(rows), nl=False)
    else:
        print_table(rows, title)
