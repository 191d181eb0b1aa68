"""Calibration: reading measurements, fitting recovers planted factors, `gpuplan calibrate` writes a usable overlay."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from solver.calibration import Measurement, fit, make_factors, predict_measurement, read_measurements
from solver.catalog import load_catalog
from solver.schema.precision import Precision as P

AIC = "../shared/calibration/aiconfigurator_silicon_hopper.csv"


def test_reads_aiconfigurator_rows(catalog):
    from tests.conftest import CALIBRATION

    if not CALIBRATION.exists():
        pytest.skip("calibration data not present")
    rows, skipped = read_measurements(CALIBRATION / "aiconfigurator_silicon_hopper.csv", catalog)
    assert len(rows) > 1000
    assert {r.engine for r in rows} == {"vllm", "sglang", "tensorrt-llm"}
    assert any("mode != agg" in s for s in skipped)


def test_fit_recovers_planted_factors(catalog):
    truth = make_factors("vllm", "nvidia_hopper", [0.62, 0.35, 0.55, 3.0, 40.0, 0.8, 0.05])
    rows = []
    for model, tp, prec in (("llama-3.1-8b", 1, P.bf16), ("llama-3.1-70b", 4, P.fp8), ("qwen3-32b", 2, P.bf16),
                            ("qwen3-30b-a3b", 1, P.bf16)):
        for c in (1, 4, 16, 64):
            for i, o in ((1024, 256), (4096, 512)):
                m = Measurement(model, "h100-sxm-80gb", "vllm", prec, P.bf16, tp, 1, c, i, o, 1e9, 1e9, "synthetic")
                pred = predict_measurement(catalog, m, truth)
                if pred:
                    rows.append(Measurement(model, "h100-sxm-80gb", "vllm", prec, P.bf16, tp, 1, c, i, o, pred[0], pred[1], "synthetic"))
    got = fit(catalog, rows, "vllm", "nvidia_hopper", "test", start=make_factors("vllm", "nvidia_hopper", [0.8, 0.5, 0.3, 1, 10, 1, 0.1]))
    assert got.bandwidth_efficiency == pytest.approx(0.62, rel=0.05)
    assert got.compute_efficiency_prefill == pytest.approx(0.55, rel=0.1)
    assert abs(got.tpot_log_band[0]) < 0.02 and abs(got.tpot_log_band[1]) < 0.02


def test_calibrate_cli_writes_usable_overlay(tmp_path, catalog):
    src = tmp_path / "mine.csv"
    truth = make_factors("vllm", "nvidia_ampere", [0.5, 0.3, 0.4, 4.0, 30.0, 1.0, 0.05])
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "gpu", "engine", "precision", "tp", "concurrency", "input_len", "output_len", "ttft_ms", "tpot_ms"])
        for c in (1, 2, 8, 32):
            for model, tp in (("llama-3.1-8b", 1), ("qwen3-14b", 2)):
                m = Measurement(model, "a100-sxm4-80gb", "vllm", P.bf16, P.bf16, tp, 1, c, 2048, 256, 1e9, 1e9, "x")
                ttft, tpot = predict_measurement(catalog, m, truth)
                w.writerow([model, "a100-sxm4-80gb", "vllm", "bf16", tp, c, 2048, 256, round(ttft, 4), round(tpot, 4)])
        w.writerow(["no-such-model", "a100-sxm4-80gb", "vllm", "bf16", 1, 1, 1, 1, 1, 1])
    out = tmp_path / "overlay.yaml"
    r = subprocess.run([sys.executable, "-m", "solver.cli.main", "calibrate", str(src), "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "1 skipped" in r.stderr
    cat = load_catalog([out])
    f, exact = cat.factors("vllm", "nvidia_ampere")
    assert exact and f.measured_points == 8
    assert f.bandwidth_efficiency == pytest.approx(0.5, rel=0.05)
