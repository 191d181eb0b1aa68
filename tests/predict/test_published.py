"""The out-of-sample check against published TensorRT-LLM throughput (benchmarks/published.py)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from benchmarks.published import Skipped, best_throughput, parse_row
from solver.schema.precision import Precision as P
from tests.conftest import CALIBRATION, ROOT


def row(**over) -> dict:
    """A published row (the CSV's columns, in order) with some fields replaced."""
    base = dict(source_url="https://example.invalid/perf-overview.md", date="2025-09", model="Llama-3.1-8B",
                gpu="H100-SXM-80GB", num_gpus="1", num_nodes="1", interconnect="", weight_precision="FP8",
                act_precision="FP8", kv_precision="FP8", server="TensorRT-LLM", server_version="1.0", tp="1", pp="1",
                ep="", input_len="128", output_len="2048", concurrency="max (offline, all requests queued)",
                scenario="offline", metric="output_tokens_per_s", value="20000", unit="tok/s", notes="")
    base.update(over)
    return base


def test_an_offline_row_becomes_a_configuration():
    cfg = parse_row(row(num_gpus="8", tp="4", weight_precision="FP16", kv_precision=""))
    assert (cfg["model"], cfg["gpu"], cfg["tp"], cfg["pp"], cfg["replicas"]) == ("llama-3.1-8b", "h100-sxm-80gb", 4, 1, 2)
    assert cfg["precision"] == P.fp16 and cfg["kv_precision"] == P.fp16  # KV follows the weights when not stated
    assert (cfg["input_len"], cfg["output_len"], cfg["published"]) == (128, 2048, 20000.0)


@pytest.mark.parametrize("over, reason", [
    (dict(scenario="server"), "scenario"),
    (dict(metric="ttft"), "metric"),
    (dict(concurrency="batch 64 (static)"), "static batching"),
    (dict(input_len="OpenOrca (var)"), "variable lengths"),
    (dict(tp=""), "tensor-parallel size not given"),
    (dict(ep="8"), "expert parallelism"),
    (dict(model="Falcon-7B"), "model not mapped"),
    (dict(num_gpus="6", tp="4"), "GPUs not whole replicas"),
])
def test_rows_that_are_not_scored_say_why(over, reason):
    with pytest.raises(Skipped, match=reason) as e:
        parse_row(row(**over))
    assert e.value.kind == reason  # the key the report counts skips under


def test_best_throughput_is_the_best_batch_that_fits(catalog):
    cfg = parse_row(row())
    (tput, (lo, hi), conc, calibrated), why = best_throughput(catalog, cfg)
    assert why is None and calibrated  # H100 with TensorRT-LLM is measured
    assert lo < tput < hi
    cap = _capacity(catalog, cfg)
    assert 1 <= conc <= cap
    from solver.predict.estimate import estimate

    for c in (1, max(1, cap // 3), cap):  # no batch the memory holds does better
        est = estimate(catalog, catalog.models["llama-3.1-8b"], catalog.gpus["h100-sxm-80gb"], catalog.engines["tensorrt-llm"],
                       P.fp8, P.fp8, 1, 1, 128, 2048, c)
        assert est.perf.output_tokens_per_s <= tput * (1 + 1e-9)


def _capacity(catalog, cfg) -> int:
    from solver.predict.estimate import estimate

    return estimate(catalog, catalog.models[cfg["model"]], catalog.gpus[cfg["gpu"]], catalog.engines["tensorrt-llm"],
                    cfg["precision"], cfg["kv_precision"], cfg["tp"], cfg["pp"], cfg["input_len"], cfg["output_len"],
                    1).memory.max_concurrency


def test_a_model_too_big_for_the_gpu_is_skipped_not_guessed(catalog):
    pred, why = best_throughput(catalog, parse_row(row(model="Llama-3.1-405B", tp="1")))
    assert pred is None and why


def test_script_scales_by_replicas_and_reports_skips(tmp_path):
    data = tmp_path / "published.csv"
    with open(data, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row()))  # the published CSV's columns
        w.writeheader()
        w.writerow(row())
        w.writerow(row(num_gpus="2"))  # two data-parallel replicas of TP1
        w.writerow(row(gpu="A100-SXM4-80GB", weight_precision="FP16", kv_precision="FP16"))
        w.writerow(row(scenario="server"))
    out, rows_out = tmp_path / "report.json", tmp_path / "rows.jsonl"
    done = subprocess.run([sys.executable, "benchmarks/published.py", "--data", str(data), "--out", str(out),
                           "--rows-out", str(rows_out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["rows_scored"] == 3 and report["rows_skipped"] == {"scenario": 1}
    one, two, a100 = [json.loads(x) for x in rows_out.read_text().splitlines()]
    assert two["predicted"] == pytest.approx(2 * one["predicted"], rel=1e-3)
    assert one["calibrated"] and not a100["calibrated"]  # Ampere has no measurement: extrapolated band
    a_lo, a_hi = a100["range"]
    h_lo, h_hi = one["range"]
    assert a_hi / a_lo > h_hi / h_lo  # ... and a wider one


def test_every_published_row_is_scored_or_skipped_with_a_reason():
    data = CALIBRATION / "published_trtllm_hopper_ampere.csv"
    if not data.exists():
        pytest.skip("published data not present")
    with open(data, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    scored = 0
    for r in rows:
        try:
            parse_row(r)
            scored += 1
        except Skipped as e:
            assert e.kind
    assert scored > 500 and len(rows) > scored
