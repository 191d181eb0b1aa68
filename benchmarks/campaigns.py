"""What leave-one-model-out cannot learn: each measurement campaign's own arrival pattern and latency.

The calibration rows come from benchmark campaigns: one engine version and one harness on one GPU.
How a campaign's requests arrived (in waves, all users starting together and staying in step, or
spread out) and its shared wait belong to the campaign, not to the model or the
hardware (docs/model.md, "The burst factor per GPU").  Held out, a model whose campaign no other
model shares is predicted with the other campaigns' pattern, and no model change can know better.
With the shipped factors (catalog/calibration.yaml) this script measures:

1. the implied wave share of every engine x GPU x model: where the measured TTFT lies between the
   model's TTFT with every request spread out (burst 0) and every request in a wave (burst 1),
   median over the group's rows (0: spread out, 1: waves; below 0: the TTFT is shorter than even
   the spread-out prediction, so the fitted shared wait or prefill is too long for this campaign),
   and how many rows lie below burst 0;
2. for each engine measured on several GPUs, its MAPEs as shipped and with one GPU's wave share
   replaced by the other GPUs' mean: what a held-out fold must do for a model alone on its GPU
   (SGLang's H100 rows are one model, Qwen3-32B, from one campaign);
3. each GPU's MAPEs in-sample (the shipped factors are fitted on every row): a bound on what any
   held-out fold can reach there.

Usage: python benchmarks/campaigns.py [--data ../shared/calibration/aiconfigurator_silicon_hopper.csv]
                                      [--out benchmarks/results/campaigns.json]
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
sys.path.insert(0, str(ROOT))  # run as a script: the repository root, for `benchmarks.*`

from benchmarks.calibration_data import add_data_option  # noqa: E402
from solver.predict.calibration import (  # noqa: E402
    Measurement,
    predict_measurement,
    prepare_measurement,
    read_measurements,
)
from solver.predict.estimate import Prepared  # noqa: E402
from solver.schema.calibration import PerfFactors  # noqa: E402
from solver.schema.catalog import Catalog, load_catalog  # noqa: E402

#: burst 0 and 1 themselves make the closed-form prefill share degenerate; these are as close as matters
SPREAD, WAVE = 1e-6, 1 - 1e-6


Prediction = tuple[float, float]  # (TTFT ms, TPOT ms), as predict_measurement


def with_burst(f: PerfFactors, burst: float) -> PerfFactors:
    """The factors with one wave share for every GPU."""
    return f.model_copy(update={"burst_factor": burst, "burst_factor_by_gpu": {}})


def implied_burst(catalog: Catalog, m: Measurement, f: PerfFactors,
                  prepared: Prepared | None = None) -> tuple[float, float, float] | None:
    """(TTFT ms spread out, TTFT ms in waves, the measured TTFT's place between them) for one row, or None
    outside the model's domain (`prepared`: the row's prepare_measurement, if at hand).  The place is read
    on a straight line between the two ends: the TTFT is close to linear in the wave share (planted shares
    0.2 / 0.5 / 0.8 come back within 0.01 for each engine at 8 and 128 users: tests/predict/test_campaigns.py)."""
    prepared = prepared or prepare_measurement(catalog, m)
    lo = predict_measurement(catalog, m, with_burst(f, SPREAD), prepared)
    hi = predict_measurement(catalog, m, with_burst(f, WAVE), prepared)
    if lo is None or hi is None:
        return None
    span = hi[0] - lo[0]
    return lo[0], hi[0], (m.ttft_ms - lo[0]) / span if span > 1e-9 else math.nan


def mapes(rows: list[Measurement], preds: dict[Measurement, Prediction | None]) -> dict:
    """TPOT and TTFT MAPE (%) of the rows that have a prediction."""
    got = [(m, preds[m]) for m in rows if preds[m] is not None]
    return {"n": len(got), "tpot_mape_pct": round(100 * statistics.mean(abs(p[1] / m.tpot_ms - 1) for m, p in got), 1),
            "ttft_mape_pct": round(100 * statistics.mean(abs(p[0] / m.ttft_ms - 1) for m, p in got), 1)}


def mapes_by_model(rows: list[Measurement], preds: dict[Measurement, Prediction | None]) -> dict:
    """mapes in all and per model."""
    models = sorted({m.model for m in rows})
    return {"all": mapes(rows, preds)} | {mo: mapes([m for m in rows if m.model == mo], preds) for mo in models}


def main() -> None:
    ap = argparse.ArgumentParser()
    add_data_option(ap)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "campaigns.json"))
    args = ap.parse_args()
    t0 = time.time()
    cat = load_catalog()
    rows, _ = read_measurements(args.data, cat)
    factors = {e: cat.calibration[f"{e}@nvidia_hopper"] for e in sorted({m.engine for m in rows})}
    prepared = {m: prepare_measurement(cat, m) for m in rows}  # each row is predicted with several factor sets
    shipped = {m: predict_measurement(cat, m, factors[m.engine], prepared[m]) for m in rows}

    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    below: dict[tuple[str, str, str], int] = defaultdict(int)
    for m in rows:
        got = implied_burst(cat, m, factors[m.engine], prepared[m])
        if got is None or math.isnan(got[2]):
            continue
        key = (m.engine, m.gpu, m.model)
        groups[key].append(got[2])
        below[key] += m.ttft_ms < got[0]
    implied = [{"engine": e, "gpu": g, "model": mo, "rows": len(v), "implied_wave_share_median": round(statistics.median(v), 3),
                "rows_below_spread_out_ttft": below[(e, g, mo)],
                "fitted_wave_share": round(factors[e].burst_for(g), 3)} for (e, g, mo), v in sorted(groups.items())]

    swaps = []
    for e, f in factors.items():
        by_gpu = f.burst_factor_by_gpu
        if len(by_gpu) < 2:
            continue
        own = [m for m in rows if m.engine == e]
        as_shipped = mapes_by_model(own, shipped)
        for g in sorted(by_gpu):
            others = statistics.mean(v for k, v in by_gpu.items() if k != g)
            swapped = f.model_copy(update={"burst_factor_by_gpu": {**by_gpu, g: others}})
            # only this GPU's rows change
            replaced = shipped | {m: predict_measurement(cat, m, swapped, prepared[m]) for m in own if m.gpu == g}
            swaps.append({"engine": e, "gpu": g, "fitted_wave_share": by_gpu[g], "replaced_by": round(others, 5),
                          "shipped": as_shipped, "replaced": mapes_by_model(own, replaced)})

    # the shipped factors are fitted on every row: their own rows' error bounds what any held-out fold reaches
    in_sample = {g: mapes([m for m in rows if m.gpu == g], shipped) for g in sorted({m.gpu for m in rows})}

    report = {"data": args.data, "rows": len(rows), "implied_wave_share": implied, "wave_share_replaced": swaps,
              "in_sample_per_gpu": in_sample, "seconds": round(time.time() - t0, 1)}
    print(f"{'engine':13} {'gpu':15} {'model':20} {'rows':>4} {'implied':>7} {'fitted':>6} {'below 0':>7}")
    for r in implied:
        print(f"{r['engine']:13} {r['gpu']:15} {r['model']:20} {r['rows']:4d} {r['implied_wave_share_median']:7.2f} "
              f"{r['fitted_wave_share']:6.2f} {r['rows_below_spread_out_ttft']:7d}")
    for sw in swaps:
        a, b = sw["shipped"]["all"], sw["replaced"]["all"]
        print(f"{sw['engine']} with {sw['gpu']}'s wave share {sw['fitted_wave_share']:.3f} -> {sw['replaced_by']:.3f}: "
              f"TPOT {a['tpot_mape_pct']}% -> {b['tpot_mape_pct']}%, TTFT {a['ttft_mape_pct']}% -> {b['ttft_mape_pct']}%")
    for g, v in in_sample.items():
        print(f"in-sample {g}: TPOT {v['tpot_mape_pct']}%, TTFT {v['ttft_mape_pct']}% ({v['n']} rows)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved {args.out} ({report['seconds']} s)")


if __name__ == "__main__":
    main()
