"""The measurements the calibration benchmarks read by default, as one `--data` option."""

from __future__ import annotations

import argparse
from pathlib import Path

#: shared/ beside the repository, as every session and CI lay it out
CALIBRATION_CSV = Path(__file__).resolve().parents[2] / "shared" / "calibration" / "aiconfigurator_silicon_hopper.csv"


def add_data_option(ap: argparse.ArgumentParser) -> None:
    """`--data`: the measurement CSV (aiconfigurator's columns or gpuplan's: `gpuplan calibrate --help`)."""
    ap.add_argument("--data", default=str(CALIBRATION_CSV),
                    help="measurement CSV (default: ../shared/calibration/aiconfigurator_silicon_hopper.csv)")


def throughput(m, ttft_ms: float, tpot_ms: float) -> float:
    """Output tokens/s of a measured run's users, each request taking TTFT + (output - 1) x TPOT."""
    return m.concurrency * m.output_len / (ttft_ms + (m.output_len - 1) * tpot_ms)
