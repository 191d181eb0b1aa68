"""Typed domain errors and the one place where they become exit codes.

Every error a user can cause derives from `GpuplanError`; its `str()` is a message the user can act
on (what failed, why, and the nearest valid values).  The CLI catches `GpuplanError` once
(`solver.cli.main`) and exits with `exit_code`; anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Exit codes (documented in README "Exit codes").
EXIT_OK = 0
EXIT_INTERNAL = 1  # an unexpected exception: a bug
EXIT_USER = 2  # bad input: arguments, scenario, catalog
EXIT_INFEASIBLE = 3  # the scenario is valid but no configuration satisfies it
EXIT_PARTIAL = 4  # batch: some rows were infeasible or in error; the others were solved
EXIT_INCOMPLETE = 5  # the run stopped before its end (an output could not be written, a worker died); what was written is kept


def closest(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Nearest valid values for `word`: those it begins (a family name such as 'a100' names every A100,
    up to 6, in order), then the most similar ones (difflib ratio)."""
    cands = list(candidates)
    lowered = {c.lower(): c for c in cands}
    w = word.strip().lower()
    family = [lowered[c] for c in sorted(lowered) if w and c.startswith(w)][:6]
    hits = [lowered[h] for h in difflib.get_close_matches(w, list(lowered), n=n, cutoff=0.5)]
    return family + [h for h in hits if h not in family][:max(n - len(family), 0)]


def suggestion(word: str, candidates: Iterable[str]) -> str:
    near = closest(word, candidates)
    return f" Did you mean: {', '.join(near)}?" if near else ""


class GpuplanError(Exception):
    """Base of all user-facing errors."""

    exit_code = EXIT_USER


class UnknownIdError(GpuplanError):
    """An id or alias that is not in the catalog."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind, self.name = kind, name
        self.valid = sorted(valid)
        super().__init__(f"unknown {kind} '{name}'.{suggestion(name, self.valid)}")


class CatalogError(GpuplanError):
    """A catalog file that does not parse or validate; names file, entry, field and line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("catalog is invalid:\n" + "\n".join(f"  - {p}" for p in problems))


class ScenarioError(GpuplanError):
    """A scenario that is malformed (bad field, bad value)."""


class IncompleteRunError(GpuplanError):
    """A run that stopped before its end through no fault of its input: an output could not be written
    (disk full, no permission, read-only file system) or a worker process died.  What was written is
    kept; the message says how to finish (`--resume` for a batch)."""

    exit_code = EXIT_INCOMPLETE
