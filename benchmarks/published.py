"""Out-of-sample check: predicted vs published TensorRT-LLM offline throughput (H100, H200 and A100).

The factors are fitted on the aiconfigurator measurements (benchmarks/accuracy.py checks them there,
leave-one-model-out).  This script checks the shipped catalog against a second source that never
entered the fit: NVIDIA's published TensorRT-LLM throughput tables and MLPerf results
(`../shared/calibration/published_trtllm_hopper_ampere.csv`, every row with its source URL).  It
scores the figure a buyer compares first — the output tokens/s a configuration delivers at its best
batch — on models and software versions the fit never saw, and on a GPU class with no calibration
data at all (A100, Ampere), where the estimate's error band is the widened, extrapolated one.

A published "offline" figure is the throughput with every request queued: the engine runs the
largest batch its memory holds.  The prediction is the highest `output_tokens_per_s` over a ladder of
concurrencies (powers of two up to the KV capacity, and the capacity itself), times the data-parallel
replicas (`num_gpus / (tp x pp)`).  The range is the estimate's throughput range at that concurrency.

The batch-1 first-token latencies are scored apart ("low_load_ttft"): one request alone, its TTFT
predicted with nobody to wait for; their median (measured - prefill service time) / layers is the
per-layer prefill latency the model uses (solver.schema.calibration.PREFILL_LAYER_LATENCY_US).

Rows not scored are listed with a reason: variable-length datasets (MLPerf's OpenOrca), static
batching (TensorRT-LLM 0.5), latency and server scenarios (one metric each, other protocols),
configurations the catalog's memory model does not fit.

Usage: python benchmarks/published.py [--data CSV] [--catalog OVERLAY] [--out benchmarks/results/published.json]
                                      [--rows-out rows.jsonl]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository root, for `benchmarks.*`

from benchmarks.rank_agreement import rank_agreement  # noqa: E402
from solver.predict.estimate import estimate  # noqa: E402
from solver.schema.catalog import load_catalog  # noqa: E402
from solver.schema.precision import Precision  # noqa: E402

DATA = ROOT.parent / "shared" / "calibration" / "published_trtllm_hopper_ampere.csv"


def ladder(limit: int) -> list[int]:
    """Concurrencies 1, 2, 4, ... below `limit`, then `limit` (the KV capacity)."""
    out, c = [], 1
    while c < limit:
        out.append(c)
        c *= 2
    return [*out, limit]
#: the published model names, as written in the tables, to catalog ids
MODELS = {
    "Llama-2-7B": "llama-2-7b", "LLaMA 7B (Llama-2-7B)": "llama-2-7b",
    "Llama-2-70B": "llama-2-70b", "LLaMA 70B (Llama-2-70B)": "llama-2-70b", "Llama-2-70B-chat": "llama-2-70b",
    "Llama-3.1-8B": "llama-3.1-8b", "Llama-3.1-8B-Instruct": "llama-3.1-8b",
    "Llama-3.1-70B": "llama-3.1-70b", "Llama-3.3-70B-Instruct": "llama-3.3-70b",
    "Llama-3.1-405B": "llama-3.1-405b", "Llama-3.1-405B-Instruct": "llama-3.1-405b",
    "Llama-4-Maverick-17B-128E-Instruct": "llama-4-maverick", "Llama-4-Scout-17B-16E-Instruct": "llama-4-scout",
    "Mixtral-8x7B": "mixtral-8x7b", "Mixtral-8x7B-Instruct-v0.1": "mixtral-8x7b", "Mixtral-8x22B": "mixtral-8x22b",
    "Qwen3-235B-A22B": "qwen3-235b-a22b", "DeepSeek-R1 (671B MoE)": "deepseek-r1",
}
GPUS = {"H100-SXM-80GB": "h100-sxm-80gb", "H200-SXM-141GB": "h200-sxm-141gb", "A100-SXM4-80GB": "a100-sxm4-80gb"}
PRECISIONS = {"FP8": Precision.fp8, "FP16": Precision.fp16, "BF16": Precision.bf16}


def _precision(text: str) -> Precision:
    return PRECISIONS[text.split(" ")[0].split(",")[0]]


class Skipped(ValueError):
    """A published row that is not scored: `kind` is the reason counted in the report, the message the detail."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind} ({detail})" if detail else kind)
        self.kind = kind


def parse_row(r: dict) -> dict:
    """The configuration a published row describes; Skipped with the reason when it is not scored."""
    if not r["scenario"].startswith("offline"):
        raise Skipped("scenario", f"{r['scenario']!r}; only offline maximum throughput is scored")
    if r["metric"] not in ("output_tokens_per_s", "output_tokens_per_s_per_gpu"):
        raise Skipped("metric", r["metric"])
    if "static" in r["concurrency"] or "static" in r["server"]:
        raise Skipped("static batching", "not modelled")
    if not (r["input_len"].isdigit() and r["output_len"].isdigit()):
        raise Skipped("variable lengths", f"{r['input_len']} / {r['output_len']}")
    if not r["tp"].isdigit():
        raise Skipped("tensor-parallel size not given")
    if r["ep"]:
        raise Skipped("expert parallelism", "not modelled")
    if r["model"] not in MODELS:
        raise Skipped("model not mapped", r["model"])
    tp, pp = int(r["tp"]), int(r["pp"] or 1)
    replicas = int(r["num_gpus"]) // (tp * pp)
    if replicas < 1 or replicas * tp * pp != int(r["num_gpus"]):
        raise Skipped("GPUs not whole replicas", f"{r['num_gpus']} GPUs of TP {tp} x PP {pp}")
    return {
        "model": MODELS[r["model"]], "gpu": GPUS[r["gpu"]], "precision": _precision(r["weight_precision"]),
        "kv_precision": _precision(r["kv_precision"]) if r["kv_precision"] else _precision(r["weight_precision"]),
        "tp": tp, "pp": pp, "replicas": replicas, "input_len": int(r["input_len"]), "output_len": int(r["output_len"]),
        "per_gpu": r["metric"].endswith("per_gpu"), "published": float(r["value"]), "version": r["server_version"],
    }


def best_throughput(cat, cfg: dict) -> tuple[tuple[float, tuple[float, float], int, bool] | None, str | None]:
    """((replica tokens/s, its low-high range, concurrency, calibrated), None) at the best batch the
    memory holds, or (None, why) when the configuration does not run or fit."""
    engine = cat.engines["tensorrt-llm"]
    args = (cat, cat.models[cfg["model"]], cat.gpus[cfg["gpu"]], engine, cfg["precision"], cfg["kv_precision"],
            cfg["tp"], cfg["pp"], cfg["input_len"], cfg["output_len"])
    first = estimate(*args, 1)
    if first.perf is None or not first.fits:
        return None, first.reason or "does not run"
    best = first
    for c in ladder(first.memory.max_concurrency)[1:]:
        est = estimate(*args, c)
        if est.perf is not None and est.fits and est.perf.output_tokens_per_s > best.perf.output_tokens_per_s:
            best = est
    _, (pl, ph) = best.band()
    tput = best.perf.output_tokens_per_s
    return (tput, (tput / ph, tput / pl), best.concurrency, best.calibrated), None


def low_load(cat, data: str) -> dict:
    """The batch-1 first-token latencies (scenario "latency (single request)", metric ttft): predicted
    TTFT of one request alone, and (measured - the model's prefill service time) / layers, whose median is
    the per-layer prefill latency the model uses (solver.schema.calibration.PREFILL_LAYER_LATENCY_US; so
    these rows are in-sample for that one constant, and for nothing else)."""
    rows = []
    with open(data, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if not (r["scenario"].startswith("latency (single request)") and r["metric"] == "ttft"):
                continue
            model, prec, tp = cat.models[MODELS[r["model"]]], _precision(r["weight_precision"]), int(r["tp"])
            est = estimate(cat, model, cat.gpus[GPUS[r["gpu"]]], cat.engines["tensorrt-llm"], prec, prec, tp, 1,
                           int(r["input_len"]), 1, 1)
            own_ms = model.layers * est.factors.prefill_layer_latency_us / 1e3
            service_ms = est.perf.prefill_ms - own_ms
            measured = float(r["value"])
            rows.append({"model": model.id, "gpu": GPUS[r["gpu"]], "tp": tp, "input_len": int(r["input_len"]),
                         "measured_ms": measured, "predicted_ms": round(est.perf.ttft_ms, 2),
                         "service_ms": round(service_ms, 2),
                         "residual_per_layer_us": round((measured - service_ms) / model.layers * 1e3, 1)})
    if not rows:
        return {"n": 0}
    return {"n": len(rows),
            "ttft_mape_pct": round(100 * statistics.mean(abs(x["predicted_ms"] - x["measured_ms"]) / x["measured_ms"] for x in rows), 1),
            "ttft_measured_over_predicted": round(statistics.median(x["measured_ms"] / x["predicted_ms"] for x in rows), 3),
            "residual_per_layer_us_median": round(statistics.median(x["residual_per_layer_us"] for x in rows), 1),
            "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "published.json"))
    ap.add_argument("--rows-out", default=None, help="also save every scored row (JSON lines)")
    ap.add_argument("--catalog", action="append", default=[], help="catalog overlay (e.g. factors from `gpuplan calibrate`)")
    args = ap.parse_args()
    t0 = time.time()
    cat = load_catalog(args.catalog)
    scored, skipped = [], defaultdict(int)
    with open(args.data, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            try:
                cfg = parse_row(r)
            except Skipped as e:
                skipped[e.kind] += 1
                continue
            pred, why = best_throughput(cat, cfg)
            if pred is None:
                skipped[f"does not fit in the memory model: {why}"] += 1
                continue
            tput, (lo, hi), conc, calibrated = pred
            scale = (1 / (cfg["tp"] * cfg["pp"])) if cfg["per_gpu"] else cfg["replicas"]
            p, lo, hi = tput * scale, lo * scale, hi * scale
            scored.append({**{k: v for k, v in cfg.items() if k not in ("precision", "kv_precision")},
                           "precision": cfg["precision"].value, "kv_precision": cfg["kv_precision"].value,
                           "predicted": round(p, 1), "range": [round(lo, 1), round(hi, 1)], "best_concurrency": conc,
                           "calibrated": calibrated, "in_range": lo <= cfg["published"] <= hi,
                           "log_ratio": math.log(cfg["published"] / p)})

    def summarise(items: list[dict]) -> dict:
        ape = [abs(x["predicted"] - x["published"]) / x["published"] for x in items]
        lr = [x["log_ratio"] for x in items]
        return {"n": len(items), "mape_pct": round(100 * statistics.mean(ape), 1),
                "median_ape_pct": round(100 * statistics.median(ape), 1),
                "median_published_over_predicted": round(math.exp(statistics.median(lr)), 3),
                "in_range_pct": round(100 * sum(x["in_range"] for x in items) / len(items), 1)}

    groups: dict[str, dict[str, list[dict]]] = {"per_gpu": defaultdict(list), "per_model": defaultdict(list),
                                                "per_precision": defaultdict(list), "per_lengths": defaultdict(list)}
    for x in scored:
        groups["per_gpu"][x["gpu"]].append(x)
        groups["per_model"][x["model"]].append(x)
        groups["per_precision"][x["precision"]].append(x)
        groups["per_lengths"][f'{x["input_len"]}/{x["output_len"]}'].append(x)
    # rank agreement across the configurations of one model, GPU and workload (TP choices, precisions)
    by_workload = defaultdict(list)
    for x in scored:
        by_workload[(x["model"], x["gpu"], x["input_len"], x["output_len"], x["version"])].append(x)
    report = {
        "data": args.data,
        "engine": "tensorrt-llm (catalog factors: nvidia_hopper fitted on aiconfigurator rows; A100 extrapolated)",
        "rows_scored": len(scored),
        "rows_skipped": dict(sorted(skipped.items())),
        "overall": summarise(scored),
        **{g: {k: summarise(v) for k, v in sorted(d.items())} for g, d in groups.items()},
        "throughput_rank_spearman": rank_agreement(by_workload.values(), "predicted", "published", 3, "groups"),
        "low_load_ttft": low_load(cat, args.data),
        "seconds": round(time.time() - t0, 1),
    }
    if args.rows_out:
        Path(args.rows_out).write_text("".join(json.dumps(x, sort_keys=True) + "\n" for x in scored))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("rows_scored", "rows_skipped", "overall", "per_gpu", "per_precision",
                                             "per_lengths", "throughput_rank_spearman", "seconds")}, indent=2))
    print("low load (batch-1 TTFT):", json.dumps({k: v for k, v in report["low_load_ttft"].items() if k != "rows"}))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
