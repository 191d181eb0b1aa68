"""Output files: an OS error while writing becomes an IncompleteRunError naming the file, why, and how
to finish the run, instead of a traceback.  Paths are checked before any work starts by the CLI
(solver.cli.options.OutputPath); this covers what only shows while writing (disk full, quota, a
read-only file system, a file size limit)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from solver.errors import IncompleteRunError


@contextmanager
def writing(path: str | Path, then: str = "nothing was kept; rerun once the cause is fixed") -> Iterator[None]:
    """Map an OSError raised inside the block to IncompleteRunError("cannot write PATH: why; THEN")."""
    try:
        yield
    except OSError as e:
        why = e.strerror or str(e)
        raise IncompleteRunError(f"cannot write {path}: {why}; {then}") from e


def write_text(path: str | Path, text: str) -> None:
    """Path.write_text (UTF-8) with OS errors mapped as `writing` does."""
    with writing(path):
        Path(path).write_text(text, encoding="utf-8")
