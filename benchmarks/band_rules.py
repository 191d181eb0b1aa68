"""Which error-band rule covers held-out models: the comparison behind `solver.predict.calibration.band`.

For every model M held out (as in benchmarks/accuracy.py), the band for M's rows is made from the
residuals of each other model N predicted by a fit without M and N (`held_out_residuals` on M's training
rows: the nested leave-one-model-out that `gpuplan calibrate` runs on its training models), per engine.  Each rule turns those residuals into a
band; printed and saved (JSON): the share of M's held-out TPOTs and TTFTs inside, and the band's median
high / low, overall and per engine and GPU.  All rules have a nominal 90% coverage:

- percentile: the 5th-95th percentiles of the residuals (the rule before the symmetric one);
- symmetric: +- the 90th percentile of |residual| (shipped: `band`);
- model-weighted: percentile, each model N weighing the same instead of each row;
- model-weighted symmetric: symmetric, each model N weighing the same.

Usage: python benchmarks/band_rules.py [--data ...] [--out benchmarks/results/band_rules.json]  (a few minutes)
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository root, for `solver.*`

from benchmarks.calibration_data import add_data_option  # noqa: E402
from solver.predict.calibration import (  # noqa: E402
    band,
    fit_joint,
    held_out_residuals,
    predict_measurement,
    quantile,
    read_measurements,
)
from solver.schema.catalog import load_catalog  # noqa: E402


def weighted_quantile(values: list[float], weights: list[float], q: float) -> float:
    """Quantile of a weighted sample, interpolating between the cumulative weights' midpoints."""
    pairs = sorted(zip(values, weights, strict=True))
    total = sum(weights)
    mids, acc = [], 0.0
    for _, w in pairs:
        mids.append((acc + w / 2) / total)
        acc += w
    if q <= mids[0]:
        return pairs[0][0]
    for i in range(1, len(pairs)):
        if mids[i] >= q:
            t = (q - mids[i - 1]) / (mids[i] - mids[i - 1])
            return pairs[i - 1][0] + t * (pairs[i][0] - pairs[i - 1][0])
    return pairs[-1][0]


def _weighted(per_model: list[list[float]], transform) -> tuple[list[float], list[float]]:
    values, weights = [], []
    for xs in per_model:
        values += [transform(x) for x in xs]
        weights += [1 / len(xs)] * len(xs)
    return values, weights


def rule_band(rule: str, per_model: list[list[float]]) -> tuple[float, float]:
    pooled = [x for xs in per_model for x in xs]
    if rule == "percentile":
        return quantile(pooled, 0.05), quantile(pooled, 0.95)
    if rule == "symmetric":
        return band(pooled)
    if rule == "model-weighted":
        v, w = _weighted(per_model, lambda x: x)
        return weighted_quantile(v, w, 0.05), weighted_quantile(v, w, 0.95)
    v, w = _weighted(per_model, abs)
    half = weighted_quantile(v, w, 0.9)
    return -half, half


RULES = ("percentile", "symmetric", "model-weighted", "model-weighted symmetric")


def main() -> None:
    ap = argparse.ArgumentParser()
    add_data_option(ap)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "band_rules.json"))
    args = ap.parse_args()
    t0 = time.time()
    cat = load_catalog()
    rows, _ = read_measurements(args.data, cat)
    fits: dict[frozenset, dict] = {}  # the nested fits recur across held-out models (a fit without M and N)

    def fit_rows(rs: list) -> dict:
        key = frozenset(rs)
        if key not in fits:
            fits[key] = fit_joint(cat, rs, "nvidia_hopper", "band rules")
        return fits[key]

    # scored[rule][group] -> list of (tpot in, ttft in, tpot high/low, ttft high/low)
    scored: dict[str, dict[str, list[tuple]]] = {r: defaultdict(list) for r in RULES}
    for held in sorted({r.model for r in rows}):
        train = [r for r in rows if r.model != held]
        outer = fit_rows(train)
        # engine -> rule -> (TPOT band, TTFT band), for engines with two or more training models
        bands = {engine: {rule: (rule_band(rule, [a for a, _ in by_model.values()]), rule_band(rule, [b for _, b in by_model.values()]))
                          for rule in RULES}
                 for engine, by_model in held_out_residuals(cat, train, fit_rows).items() if len(by_model) >= 2}
        for m in rows:
            if m.model != held or m.engine not in outer or m.engine not in bands:
                continue
            pred = predict_measurement(cat, m, outer[m.engine])
            if pred is None:
                continue
            r_ttft, r_tpot = math.log(m.ttft_ms / pred[0]), math.log(m.tpot_ms / pred[1])
            for rule in RULES:
                (lo_p, hi_p), (lo_t, hi_t) = bands[m.engine][rule]
                item = (lo_p <= r_tpot <= hi_p, lo_t <= r_ttft <= hi_t, math.exp(hi_p - lo_p), math.exp(hi_t - lo_t))
                for group in ("all", m.engine, m.gpu):
                    scored[rule][group].append(item)
        print(f"{held}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)

    report: dict = {"data": args.data, "rows_used": len(rows), "rules": {}}
    for rule in RULES:
        report["rules"][rule] = {group: {
            "n": len(items),
            "tpot_in_range_pct": round(100 * sum(i[0] for i in items) / len(items), 1),
            "ttft_in_range_pct": round(100 * sum(i[1] for i in items) / len(items), 1),
            "tpot_range_median_high_over_low": round(statistics.median(i[2] for i in items), 2),
            "ttft_range_median_high_over_low": round(statistics.median(i[3] for i in items), 2),
        } for group, items in sorted(scored[rule].items())}
    report["seconds"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"saved {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
