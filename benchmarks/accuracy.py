"""Accuracy of the performance model on the calibration data, leave-one-model-out.

For every engine, each model in turn is held out: the factors are fitted on the engine's other
models and the held-out model's rows are predicted.  Prints and saves (JSON) per engine and per GPU:
MAPE of TPOT and TTFT, the share of measurements inside the reported range and its median width (with the joint fit, the
band `gpuplan calibrate` would ship for the training models: the residuals of each training model
left out in turn, a nested cross-validation; with --method per-engine, the training residuals), and the Spearman rank agreement of predicted vs measured throughput across the
configurations of one workload (model, input and output length).  Also an error floor: the MAPEs of
the same model fitted on every row and scored on them (in-sample), and of the held-out predictions
with each engine x model x GPU's mean log offset removed — how much of the error is an offset per
engine and model that leave-one-model-out cannot learn, and how much the model's form leaves.

Usage: python benchmarks/accuracy.py [--data ../shared/calibration/aiconfigurator_silicon_hopper.csv]
                                     [--out benchmarks/results/accuracy.json] [--rows-out rows.jsonl] [--quick]
       python benchmarks/accuracy.py --leave-one-gpu-out [cross_gpu.py's options]
                                     (each GPU system held out in turn: benchmarks/cross_gpu.py)
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

from benchmarks.calibration_data import add_data_option, throughput  # noqa: E402
from benchmarks.rank_agreement import rank_agreement  # noqa: E402
from solver.predict.calibration import fit, fit_class, fit_joint, predict_measurement, read_measurements  # noqa: E402
from solver.schema.catalog import load_catalog  # noqa: E402


def _predict_into(results: list[dict], cat, m, f, held: str) -> int:
    """Append one prediction; 1 if the row is outside the model's domain (not predicted)."""
    pred = predict_measurement(cat, m, f)
    if pred is None:
        return 1
    ttft, tpot = pred
    lo_t, hi_t = f.ttft_log_band
    lo_p, hi_p = f.tpot_log_band
    results.append({
        "engine": m.engine, "gpu": m.gpu, "model": m.model, "source": m.source, "held_out": held, "tp": m.tp, "pp": m.pp,
        "concurrency": m.concurrency, "precision": m.precision.value, "input_len": m.input_len, "output_len": m.output_len,
        "workload": f"{m.model}|{m.input_len}|{m.output_len}",
        "tpot_meas": m.tpot_ms, "tpot_pred": tpot, "ttft_meas": m.ttft_ms, "ttft_pred": ttft,
        "tput_meas": throughput(m, m.ttft_ms, m.tpot_ms),
        "tput_pred": throughput(m, ttft, tpot),
        "tpot_range_x": math.exp(hi_p - lo_p), "ttft_range_x": math.exp(hi_t - lo_t),
        "tpot_in": tpot * math.exp(lo_p) <= m.tpot_ms <= tpot * math.exp(hi_p),
        "ttft_in": ttft * math.exp(lo_t) <= m.ttft_ms <= ttft * math.exp(hi_t),
    })
    return 0


def main() -> None:
    if "--leave-one-gpu-out" in sys.argv[1:]:
        from benchmarks import cross_gpu

        sys.argv = [str(Path(cross_gpu.__file__)), *(a for a in sys.argv[1:] if a != "--leave-one-gpu-out")]
        cross_gpu.main()
        return
    ap = argparse.ArgumentParser()
    add_data_option(ap)
    ap.add_argument("--out", default=None, help="JSON report (default benchmarks/results/accuracy.json; none with --quick)")
    ap.add_argument("--method", choices=["per-engine", "joint"], default="joint",
                    help="per-engine: all factors per engine; joint: hardware efficiencies shared by the engines")
    ap.add_argument("--rows-out", default=None, help="also save every prediction (JSON lines) for analysis")
    ap.add_argument("--quick", action="store_true",
                    help="joint fit without the nested band fits (about 2 min instead of 6): the same MAPEs and "
                         "Spearman, but ranges from the training rows' in-sample residuals; for trying model changes, "
                         "not for reporting coverage (saved to --out only when given explicitly)")
    args = ap.parse_args()
    t0 = time.time()
    cat = load_catalog()
    rows, skipped = read_measurements(args.data, cat)
    results = []  # one dict per predicted measurement
    excluded = 0
    if args.method == "joint":
        cache: dict = {}  # fits on the same training rows recur in the nested cross-validation
        for held in sorted({r.model for r in rows}):
            train = [r for r in rows if r.model != held]
            test = [r for r in rows if r.model == held]
            # as `gpuplan calibrate` does, on the training models only: the band comes from a
            # leave-one-model-out inside them (nested), so the held-out model never shapes its band
            if args.quick:
                fits = fit_joint(cat, train, "nvidia_hopper", "leave-one-model-out")
            else:
                fits = fit_class(cat, train, "nvidia_hopper", "leave-one-model-out", cache)
            for m in test:
                if m.engine not in fits:
                    continue
                excluded += _predict_into(results, cat, m, fits[m.engine], held)
    for engine in (sorted({r.engine for r in rows}) if args.method == "per-engine" else []):
        eng_rows = [r for r in rows if r.engine == engine]
        for held in sorted({r.model for r in eng_rows}):
            train = [r for r in eng_rows if r.model != held]
            test = [r for r in eng_rows if r.model == held]
            if not train:
                continue
            cls = cat.gpus[test[0].gpu].compat_key
            f = fit(cat, train, engine, cls, "leave-one-model-out")
            for m in test:
                excluded += _predict_into(results, cat, m, f, held)

    # How much of the error a better fit could remove: the same model fitted on every row and scored
    # on them (in-sample), and the held-out predictions with each engine x model x GPU's mean log
    # offset removed (what a leave-one-model-out fit would score if it could know those offsets).
    in_sample: list[dict] = []
    everything = fit_joint(cat, rows, "nvidia_hopper", "in-sample")
    for m in rows:
        _predict_into(in_sample, cat, m, everything[m.engine], "")

    def summarise(items: list[dict]) -> dict:
        ape = lambda k: [abs(r[f"{k}_pred"] - r[f"{k}_meas"]) / r[f"{k}_meas"] for r in items]  # noqa: E731
        return {
            "n": len(items),
            "tpot_mape_pct": round(100 * statistics.mean(ape("tpot")), 1),
            "ttft_mape_pct": round(100 * statistics.mean(ape("ttft")), 1),
            "tpot_median_ape_pct": round(100 * statistics.median(ape("tpot")), 1),
            "ttft_median_ape_pct": round(100 * statistics.median(ape("ttft")), 1),
            "tpot_in_range_pct": round(100 * sum(r["tpot_in"] for r in items) / len(items), 1),
            "ttft_in_range_pct": round(100 * sum(r["ttft_in"] for r in items) / len(items), 1),
            # what the coverage costs: the range's high / low, median over the rows
            "tpot_range_median_high_over_low": round(statistics.median(r["tpot_range_x"] for r in items), 2),
            "ttft_range_median_high_over_low": round(statistics.median(r["ttft_range_x"] for r in items), 2),
        }

    by_engine = defaultdict(list)
    by_gpu = defaultdict(list)
    by_workload = defaultdict(list)
    by_model = defaultdict(list)
    for r in results:
        by_engine[r["engine"]].append(r)
        by_gpu[r["gpu"]].append(r)
        by_workload[r["workload"]].append(r)
        by_model[f'{r["engine"]}/{r["model"]}'].append(r)

    def offset_removed(items: list[dict]) -> dict:
        groups = defaultdict(list)
        for r in items:
            groups[(r["engine"], r["model"], r["gpu"])].append(r)
        out = {}
        for k in ("tpot", "ttft"):
            total = 0.0
            for rs in groups.values():
                shift = math.exp(statistics.mean(math.log(r[f"{k}_meas"] / r[f"{k}_pred"]) for r in rs))
                total += sum(abs(shift * r[f"{k}_pred"] - r[f"{k}_meas"]) / r[f"{k}_meas"] for r in rs)
            out[f"{k}_mape_pct"] = round(100 * total / len(items), 1)
        return out

    report = {
        "data": args.data,
        "method": f"leave-one-model-out ({args.method} fit); band = " + (
            "+-90th percentile of the absolute log residuals of the training models, each left out in turn (nested)"
            if args.method == "joint" and not args.quick else "+-90th percentile of the absolute training log residuals (in-sample)"),
        "rows_used": len(rows),
        "rows_skipped_on_read": len(skipped),
        "rows_excluded_outside_model_domain": excluded,
        "overall": summarise(results),
        "per_engine": {k: summarise(v) for k, v in sorted(by_engine.items())},
        "per_gpu": {k: summarise(v) for k, v in sorted(by_gpu.items())},
        "per_engine_model": {k: summarise(v) for k, v in sorted(by_model.items())},
        "error_floor": {
            "in_sample": {k: v for k, v in summarise(in_sample).items() if k in ("n", "tpot_mape_pct", "ttft_mape_pct")},
            "held_out_with_engine_model_gpu_offsets_removed": offset_removed(results),
        },
        "throughput_rank_spearman": rank_agreement(by_workload.values(), "tput_pred", "tput_meas", 5, "workloads"),
        "seconds": round(time.time() - t0, 1),
    }
    if args.rows_out:
        Path(args.rows_out).write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in results))
    out = args.out or (None if args.quick else str(ROOT / "benchmarks" / "results" / "accuracy.json"))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("rows_used", "rows_excluded_outside_model_domain", "overall",
                                             "per_engine", "per_gpu", "error_floor", "throughput_rank_spearman",
                                             "seconds")}, indent=2))
    print(f"saved {out}" if out else "not saved (--quick without --out)")


if __name__ == "__main__":
    main()
