"""Integer scaling of the metrics CP-SAT sees, defined once.  Reported values are the exact floats."""

from __future__ import annotations

from solver.schema.pricing import HOURS_PER_MONTH  # noqa: F401  (re-exported: the planner's unit conversions)

COST_SCALE = 1000  # thousandths of a currency unit (per hour / month / million tokens)
TPUT_SCALE = 100  # hundredths of a token per second
LAT_SCALE = 1000  # microseconds, from milliseconds
MEM_SCALE = 1024  # MiB, from GiB


def iround(x: float) -> int:
    return int(round(x))
