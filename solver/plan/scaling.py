"""Integer scaling of the metrics CP-SAT sees, defined once.  Reported values are the exact floats."""

from __future__ import annotations

COST_SCALE = 1000  # thousandths of a currency unit (per hour / month / million tokens)
TPUT_SCALE = 100  # hundredths of a token per second
LAT_SCALE = 1000  # microseconds, from milliseconds
MEM_SCALE = 1024  # MiB, from GiB
HOURS_PER_MONTH = 730  # 8760 h / 12


def iround(x: float) -> int:
    return int(round(x))
