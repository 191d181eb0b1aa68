"""Leave-one-GPU-out: how well predictions hold on a GPU whose serving runs were not in the fit.

For each GPU system with serving rows in the data (default: aiconfigurator's silicon sample, H100,
H200, B200, B300, GB200; benchmarks/data/aiconfigurator/README.md), the factors are fitted on every
other system's rows and the held-out system's rows predicted as the catalog would
(solver.predict.calibration.cross_gpu: its class's fit unless thin, else the engine's best-measured
class's), twice: with the efficiencies moved onto the held-out GPU's own attainable rates
(solver.predict.attainable, what gpuplan does) and as fitted (the datasheet peaks times the other
GPUs' efficiencies, what it did before).  Reported per GPU and per engine: TPOT, TTFT and
throughput MAPE, bias (median measured/predicted), the share inside the fit's band and its median
width, and the band a held-out GPU would need: the 80th/90th percentile of |ln(measured/predicted)|
over every held-out row.

Usage: python benchmarks/cross_gpu.py [--data benchmarks/data/aiconfigurator/silicon_sample.csv]
                                      [--out benchmarks/results/cross_gpu.json]
Targets (issue): per GPU TPOT MAPE <= 15%, TTFT MAPE <= 25%, bias within +-10%, >= 80% inside the
band, median band width <= x2.5 (TPOT) and <= x4 (TTFT).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.calibration_data import throughput  # noqa: E402
from solver.predict.calibration import read_measurements  # noqa: E402
from solver.predict.calibration.cross_gpu import leave_one_gpu_out  # noqa: E402
from solver.schema.catalog import load_catalog  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "aiconfigurator" / "silicon_sample.csv"
LOW_LOAD = 4  # users, for the low-load summary


def summarise(items: list[dict]) -> dict:
    if not items:
        return {"n": 0}

    def mape(k: str) -> float:
        return round(100 * statistics.mean(abs(r[f"{k}_pred"] - r[f"{k}_meas"]) / r[f"{k}_meas"] for r in items), 1)

    def bias(k: str) -> float:
        return round(statistics.median(r[f"{k}_meas"] / r[f"{k}_pred"] for r in items), 3)

    return {"n": len(items), "tpot_mape_pct": mape("tpot"), "ttft_mape_pct": mape("ttft"), "throughput_mape_pct": mape("tput"),
            "tpot_bias": bias("tpot"), "ttft_bias": bias("ttft"), "throughput_bias": bias("tput"),
            "tpot_in_band_pct": round(100 * sum(r["tpot_in"] for r in items) / len(items), 1),
            "ttft_in_band_pct": round(100 * sum(r["ttft_in"] for r in items) / len(items), 1),
            "tpot_band_width_x": round(statistics.median(r["tpot_w"] for r in items), 2),
            "ttft_band_width_x": round(statistics.median(r["ttft_w"] for r in items), 2)}


def needed_band(items: list[dict]) -> dict:
    """The symmetric band (x low..high) holding 80% / 90% of the held-out rows."""
    out = {}
    for k in ("tpot", "ttft"):
        errs = sorted(abs(math.log(r[f"{k}_meas"] / r[f"{k}_pred"])) for r in items)
        for q in (0.8, 0.9):
            e = errs[min(len(errs) - 1, int(q * len(errs)))]
            out[f"{k}_p{int(q * 100)}_width_x"] = round(math.exp(2 * e), 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cross_gpu.json"))
    args = ap.parse_args()
    t0 = time.time()
    cat = load_catalog()
    rows, skipped = read_measurements(args.data, cat)
    results: dict[str, list[dict]] = {}
    fits: dict = {}  # the same fits serve both predictions
    for name, as_fitted in (("attainable", False), ("as_fitted", True)):
        items = []
        for m, factors, (ttft, tpot) in leave_one_gpu_out(cat, rows, as_fitted=as_fitted, cache=fits):
            (lt, ht), (lp, hp) = factors.ttft_log_band, factors.tpot_log_band
            items.append({
                "gpu": m.gpu, "engine": m.engine, "model": m.model, "concurrency": m.concurrency, "factors": factors.id,
                "tpot_meas": m.tpot_ms, "tpot_pred": tpot, "ttft_meas": m.ttft_ms, "ttft_pred": ttft,
                "tput_meas": throughput(m, m.ttft_ms, m.tpot_ms), "tput_pred": throughput(m, ttft, tpot),
                "tpot_in": tpot * math.exp(lp) <= m.tpot_ms <= tpot * math.exp(hp),
                "ttft_in": ttft * math.exp(lt) <= m.ttft_ms <= ttft * math.exp(ht),
                "tpot_w": math.exp(hp - lp), "ttft_w": math.exp(ht - lt)})
        results[name] = items
        print(f"{name}: {len(items)} rows predicted ({time.time() - t0:.0f} s)", flush=True)
    held_out = sorted({r["gpu"] for r in results["attainable"]})
    report: dict = {"data": str(args.data), "rows": len(rows), "skipped": len(skipped), "held_out_gpus": held_out}
    for name, items in results.items():
        report[name] = {
            "overall": summarise(items),
            # a few users: where a request's own prefill latency shows more than queueing
            "low_load": summarise([r for r in items if r["concurrency"] <= LOW_LOAD]),
            "per_gpu": {g: summarise([r for r in items if r["gpu"] == g]) for g in held_out},
            "per_gpu_engine": {f"{g}/{e}": summarise([r for r in items if r["gpu"] == g and r["engine"] == e])
                               for g in held_out for e in sorted({r["engine"] for r in items if r["gpu"] == g})},
            "band_needed": needed_band(items),
        }
    report["seconds"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    for g in held_out:
        a, b = report["attainable"]["per_gpu"][g], report["as_fitted"]["per_gpu"][g]
        print(f"{g}: TPOT MAPE {a.get('tpot_mape_pct')}% (as fitted {b.get('tpot_mape_pct')}%), TTFT {a.get('ttft_mape_pct')}% "
              f"({b.get('ttft_mape_pct')}%), bias TPOT {a.get('tpot_bias')} TTFT {a.get('ttft_bias')}, in band "
              f"{a.get('tpot_in_band_pct')}/{a.get('ttft_in_band_pct')}%")
    print("overall", json.dumps(report["attainable"]["overall"]))
    print("low load", json.dumps(report["attainable"]["low_load"]))
    print(json.dumps(report["attainable"]["band_needed"]))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
