"""Speed of one estimate: every calibration row estimated in-process, time per estimate.

Usage: python benchmarks/estimate_speed.py [--repeat 3] [--out benchmarks/results/estimate_speed.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository root, for `benchmarks.*`

from benchmarks.calibration_data import add_data_option  # noqa: E402
from solver.predict.calibration import read_measurements  # noqa: E402
from solver.predict.estimate import estimate  # noqa: E402
from solver.schema.catalog import load_catalog  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    add_data_option(ap)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "estimate_speed.json"))
    args = ap.parse_args()
    cat = load_catalog()
    rows, _ = read_measurements(args.data, cat)
    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        for m in rows:
            estimate(cat, cat.models[m.model], cat.gpus[m.gpu], cat.engines[m.engine], m.precision, m.kv_precision,
                     m.tp, m.pp, m.input_len, m.output_len, m.concurrency)
        runs.append((time.perf_counter() - t0) / len(rows) * 1e6)
    report = {"rows": len(rows), "repeats": args.repeat, "us_per_estimate_median": round(statistics.median(runs), 1),
              "us_per_estimate_runs": [round(r, 1) for r in runs], "estimates_per_s": round(1e6 / statistics.median(runs))}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
