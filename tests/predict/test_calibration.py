"""Calibration: reading measurements, fitting recovers planted factors, `gpuplan calibrate` writes a usable overlay."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from solver.predict.calibration import Measurement, fit, make_factors, predict_measurement, read_measurements
from solver.schema.catalog import load_catalog
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


#: planted factors in PARAMS order (bandwidth, decode, prefill efficiency, us per layer, prefill ms, MoE, burst,
#: KV-read efficiency, MoE prefill efficiency, DSA layer us, linear-attention layer us, EP efficiency)
TRUTH = make_factors("vllm", "nvidia_hopper", [0.62, 0.6, 0.55, 47.0, 40.0, 0.8, 0.05, 0.5, 0.4, 0.0, 0.0, 1.0])


def test_fit_recovers_planted_factors(catalog):
    rows = []
    for model, tp, prec in (("llama-3.1-8b", 1, P.bf16), ("llama-3.1-70b", 4, P.fp8), ("qwen3-32b", 2, P.bf16),
                            ("qwen3-30b-a3b", 1, P.bf16)):
        for c in (1, 4, 16, 64):
            for i, o in ((1024, 256), (4096, 512)):
                m = Measurement(model, "h100-sxm-80gb", "vllm", prec, P.bf16, tp, 1, c, i, o, 1e9, 1e9, "synthetic")
                pred = predict_measurement(catalog, m, TRUTH)
                if pred:
                    rows.append(Measurement(model, "h100-sxm-80gb", "vllm", prec, P.bf16, tp, 1, c, i, o, pred[0], pred[1], "synthetic"))
    got = fit(catalog, rows, "vllm", "nvidia_hopper", "test", start=make_factors("vllm", "nvidia_hopper", [0.8, 0.7, 0.3, 15, 10, 1, 0.1, 1.0, 1.0, 0.0, 0.0, 1.0]))
    assert got.bandwidth_efficiency == pytest.approx(0.62, rel=0.05)
    assert got.compute_efficiency_prefill == pytest.approx(0.55, rel=0.1)
    assert got.kv_bandwidth_efficiency == pytest.approx(0.5, rel=0.1)
    assert got.moe_prefill_efficiency == pytest.approx(0.4, rel=0.1)
    assert abs(got.tpot_log_band[0]) < 0.02 and abs(got.tpot_log_band[1]) < 0.02


def test_factors_no_row_informs_keep_their_prior(catalog):
    """Dense models' rows say nothing of MoE experts or a DSA indexer: a fit on them keeps those
    factors' priors and says so in its source (before, the MoE efficiencies drifted to 0.10 and 0.06,
    near their bounds, and an overlay fitted on a dense-only CSV made every MoE model ~10x slow)."""
    from solver.predict.calibration import SPEC

    rows = []
    for model, tp in (("llama-3.1-8b", 1), ("llama-3.1-70b", 4)):
        for c in (1, 4, 16, 64):
            for i in (1024, 4096):
                m = Measurement(model, "h100-sxm-80gb", "vllm", P.fp8, P.bf16, tp, 1, c, i, 256, 1e9, 1e9, "synthetic")
                ttft, tpot = predict_measurement(catalog, m, TRUTH)
                rows.append(Measurement(model, "h100-sxm-80gb", "vllm", P.fp8, P.bf16, tp, 1, c, i, 256, ttft, tpot, "synthetic"))
    got = fit(catalog, rows, "vllm", "nvidia_hopper", "dense")
    for p in ("moe_efficiency", "moe_prefill_efficiency", "sparse_layer_overhead_us", "linear_layer_overhead_us",
              "moe_ep_efficiency"):
        assert getattr(got, p) == SPEC[p].start, p
        assert p in got.source[0]
    assert got.bandwidth_efficiency == pytest.approx(0.62, rel=0.05)  # the rest is fitted


def test_expert_parallel_runs_inform_the_engines_ep_efficiency(catalog):
    """Rows of a MoE model run with its experts spread whole over the GPUs (moe_ep 8) beside rows of the
    same layouts split by TP: the fit recovers the planted EP efficiency (1.6), as its own factor."""
    truth = TRUTH.model_copy(update={"moe_ep_efficiency": 1.6})
    rows = []
    for model, tp in (("qwen3-30b-a3b", 8), ("llama-3.1-8b", 1), ("qwen3-235b-a22b", 8)):
        for ep in ((1, 8) if model != "llama-3.1-8b" else (1,)):
            for c in (1, 8, 32, 128):
                m = Measurement(model, "h100-sxm-80gb", "vllm", P.fp8, P.bf16, tp, 1, c, 1024, 256, 1e9, 1e9, "synthetic", ep)
                ttft, tpot = predict_measurement(catalog, m, truth)
                rows.append(Measurement(model, "h100-sxm-80gb", "vllm", P.fp8, P.bf16, tp, 1, c, 1024, 256, ttft, tpot, "synthetic", ep))
    got = fit(catalog, rows, "vllm", "nvidia_hopper", "ep")
    assert got.moe_ep_efficiency == pytest.approx(1.6, rel=0.1)
    assert "moe_ep_efficiency" not in got.source[0]


def _read_own(tmp_path, catalog, *lines: str):
    """read_measurements of a gpuplan-format CSV holding `lines`: (its path, rows, skipped)."""
    src = tmp_path / "m.csv"
    src.write_text("model,gpu,engine,precision,tp,concurrency,input_len,output_len,ttft_ms,tpot_ms\n"
                   + "".join(line + "\n" for line in lines))
    return (src, *read_measurements(src, catalog))


@pytest.mark.parametrize("bound, users, ttft_tpot, limits, kept, skipped_prefix", [
    # a TPOT below the time to read each GPU's weight shard and KV once at peak bandwidth (Llama-3.1-8B in
    # BF16 on one H100, 4 users: 15.0 GB streamed — the 1.05 GB input embedding is only gathered — and
    # 0.54 GB of KV / 3.35 TB/s = 4.6 ms): the stated batch never ran
    ("tpot_floor_ms", 4, [(100, 3.0), (100, 6.0)], (4.5, 4.8), ("tpot_ms", 6.0), "TPOT 3.00 ms is below"),
    # a TTFT above every user's prompt prefilled in turn (256 users, 1,024 tokens: 2 x 6.98 G x 1,024 = 14.3
    # TFLOP — the 0.53 G LM head only on the last token — plus 0.28 TFLOP of attention, 0.147 s at 10% of
    # the 989 TFLOPS 16-bit peak) with a 20 ms decode step each and the 1 s allowance, about 43.8 s: a 150 s
    # wait can only be for admission
    ("ttft_ceiling_ms", 256, [(150000, 20.0), (30000, 20.0)], (43_000, 44_500), ("ttft_ms", 30000.0),
     "TTFT 150000 ms is above"),
])
def test_rows_whose_stated_users_never_ran_at_once_are_skipped_on_reading(tmp_path, catalog, bound, users, ttft_tpot,
                                                                          limits, kept, skipped_prefix):
    """The TPOT floor and the TTFT ceiling: the bound for the row's configuration, then the row beyond it
    skipped with why and the one within it kept."""
    import solver.predict.calibration as cal

    first_ttft, first_tpot = ttft_tpot[0]
    row = Measurement("llama-3.1-8b", "h100-sxm-80gb", "vllm", P.bf16, P.bf16, 1, 1, users, 1024, 256,
                      float(first_ttft), first_tpot, "x")
    assert limits[0] < getattr(cal, bound)(catalog, row) < limits[1]
    src, rows, skipped = _read_own(tmp_path, catalog, *(f"llama-3.1-8b,h100-sxm,vllm,bf16,1,{users},1024,256,{t},{p}"
                                                         for t, p in ttft_tpot))
    assert [getattr(r, kept[0]) for r in rows] == [kept[1]]
    assert len(skipped) == 1 and skipped[0].startswith(f"{src}:2: {skipped_prefix}") and "never ran at once" in skipped[0]


def test_aiconfigurator_rows_keep_each_engines_kv_cache_format(tmp_path, catalog):
    """The dataset does not record the KV-cache format: vLLM and SGLang keep their 16-bit default
    (fp8 only on request), TensorRT-LLM's fp8 rows had an fp8 cache (calibration._aic_kv_precision);
    a 16-bit model keeps a 16-bit cache everywhere."""
    cols = ["backend", "model_path", "system", "precision", "gemm_quant_mode", "mode", "batch_size", "tp_size",
            "pp_size", "isl", "osl", "silicon_ttft_ms", "silicon_tpot_ms"]
    rows = [(b, m, p, g, str(i)) for i, (b, m, p, g) in enumerate([
        ("trtllm", "Qwen/Qwen3-32B", "fp8", "fp8"), ("vllm", "Qwen/Qwen3-32B", "fp8", "fp8"),
        ("sglang", "Qwen/Qwen3-32B", "fp8", "fp8"), ("trtllm", "Qwen/Qwen3-32B", "", "")])]
    src = tmp_path / "aic.csv"
    src.write_text(",".join(cols) + "\n" + "".join(
        f"{b},{m},h100_sxm,{p},{g},agg,4,2,1,1024,256,300.{i},40.0\n" for b, m, p, g, i in rows))
    got, skipped = read_measurements(src, catalog)
    assert skipped == []
    assert [(r.engine, r.precision, r.kv_precision) for r in got] == [
        ("tensorrt-llm", P.fp8, P.fp8), ("vllm", P.fp8, P.bf16), ("sglang", P.fp8, P.bf16), ("tensorrt-llm", P.bf16, P.bf16)]


def test_aiconfigurator_writes_zero_for_a_moe_split_it_did_not_use(tmp_path, catalog):
    """moe_tp_size / moe_ep_size 0 (10 rows of the shared dump) mean 'not used', as an empty cell: the
    row is read with EP 1; a TP of 0 stays an error."""
    cols = "backend,model_path,system,gemm_quant_mode,mode,batch_size,tp_size,isl,osl,silicon_ttft_ms,silicon_tpot_ms,moe_tp_size,moe_ep_size\n"
    src = tmp_path / "aic.csv"
    src.write_text(cols + "vllm,Qwen/Qwen3-32B,h100_sxm,fp8,agg,4,2,1024,256,300,40,0,0\n"
                   + "vllm,Qwen/Qwen3-32B,h100_sxm,fp8,agg,4,0,1024,256,300,40,0,0\n")
    got, skipped = read_measurements(src, catalog)
    assert [(m.tp, m.moe_ep) for m in got] == [(2, 1)]
    assert len(skipped) == 1 and "tp_size 0 is out of range" in skipped[0]


def test_one_run_exported_twice_counts_once(tmp_path, catalog):
    """The same configuration with TTFT and TPOT equal to 9 significant digits, even under a sibling
    model's name or differing in the float's last bit (as the aiconfigurator dump's exports of one run
    do), or one export rounded to 0.01 ms (its gap-analysis files), is one run exported twice: kept once,
    the repeats skipped with why.  A second run of the same configuration (figures apart by more than
    the rounding) is a measurement of its own."""
    src, rows, skipped = _read_own(tmp_path, catalog,
                                   "deepseek-r1,h200-sxm,sglang,fp8,8,4,1024,1024,259.9114292766899,10.29225441516629",
                                   "deepseek-v3,h200-sxm,sglang,fp8,8,4,1024,1024,259.9114292766899,10.29225441516629",
                                   "deepseek-r1,h200-sxm,sglang,fp8,8,4,1024,1024,259.91142927668993,10.292254415166291",
                                   "deepseek-r1,h200-sxm,sglang,fp8,8,4,1024,1024,259.91,10.29",
                                   "deepseek-r1,h200-sxm,sglang,fp8,8,4,1024,1024,259.93,10.29",
                                   "deepseek-r1,h200-sxm,sglang,fp8,8,4,1024,1024,261.3,10.41")
    assert [(r.model, r.ttft_ms) for r in rows] == [("deepseek-r1", 259.9114292766899), ("deepseek-r1", 259.93),
                                                    ("deepseek-r1", 261.3)]
    assert [s.split(": ", 1)[0] for s in skipped] == [f"{src}:3", f"{src}:4", f"{src}:5"]
    assert all(f"the same measurement as {src}:2 (deepseek-r1)" in s for s in skipped)


def test_an_unmeasured_engine_is_not_assumed_faster_than_a_measured_one():
    from solver.predict.calibration import unmeasured_engine

    a = make_factors("vllm", "nvidia_hopper", [0.7, 0.1, 0.5, 50.0, 40.0, 0.8, 0.1, 0.5, 0.4, 0.0, 0.0, 1.0], (-0.3, 0.5), (-0.6, 0.7), 10)
    b = make_factors("sglang", "nvidia_hopper", [0.7, 0.1, 0.5, 45.0, 200.0, 0.8, 0.6, 0.5, 0.4, 0.0, 0.0, 1.0], (-0.5, 0.4), (-1.2, 1.3), 5)
    u = unmeasured_engine([a, b])
    assert (u.id, u.engine, u.gpu_class) == ("*@*", "*", "*")
    assert (u.layer_overhead_us, u.shared_wait_ms, u.burst_factor) == (50.0, 200.0, 0.6)
    assert (u.bandwidth_efficiency, u.compute_efficiency_prefill) == (0.7, 0.5)
    assert u.tpot_log_band == (-0.5, 0.5) and u.ttft_log_band == (-1.2, 1.3) and u.measured_points == 15


def test_calibrate_cli_writes_usable_overlay(tmp_path, catalog):
    src = tmp_path / "mine.csv"
    truth = make_factors("vllm", "nvidia_ampere", [0.5, 0.6, 0.4, 60.0, 30.0, 1.0, 0.05, 0.6, 0.5, 0.0, 0.0, 1.0])
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
    assert "1 skipped" in r.stderr and f"  1 x {src}:10: unknown model 'no-such-model'" in r.stderr
    cat = load_catalog([out])
    f, exact = cat.factors("vllm", "nvidia_ampere")
    assert exact and f.measured_points == 8
    assert f.bandwidth_efficiency == pytest.approx(0.5, rel=0.05)


def test_calibrate_summarises_skipped_rows_by_kind():
    """Hundreds of skipped rows print as one line per kind of reason (row and numbers aside), the most
    frequent first, with its first row; kinds beyond the cap share one line."""
    from solver.cli.plan_cmds import skip_summary

    skipped = [f"m.csv:{i}: TPOT {i}.5 ms is below {i + 1}.25 ms, ..." for i in range(2, 7)]
    skipped += ["m.csv:9: disaggregated serving row (mode != agg)", "m.csv:11: disaggregated serving row (mode != agg)",
                "m.csv:12: unknown model 'x'"]
    assert skip_summary(skipped) == [(5, skipped[0]), (2, skipped[5]), (1, skipped[7])]
    assert skip_summary(skipped, kinds=1) == [(5, skipped[0]), (3, "rows of 2 other kinds")]


def test_bands_are_cross_validated_over_models(catalog):
    """Each model measured 30% slower, as predicted, or 30% faster than one set of factors: a fit on all
    three fits the middle, so its own residuals are about +-ln 1.3, while a model left out is
    predicted from the other two and misses by more.  The shipped band must cover the latter."""
    from solver.predict.calibration import cross_validated_bands, fit_class, residuals

    rows = []
    for (model, tp), slow in ((("llama-3.1-8b", 1), 1.3), (("qwen3-32b", 2), 1.0), (("llama-3.1-70b", 4), 1 / 1.3)):
        for c in (1, 4, 16):
            m = Measurement(model, "h100-sxm-80gb", "vllm", P.bf16, P.bf16, tp, 1, c, 2048, 256, 1e9, 1e9, "synthetic")
            ttft, tpot = predict_measurement(catalog, m, TRUTH)
            rows.append(Measurement(model, "h100-sxm-80gb", "vllm", P.bf16, P.bf16, tp, 1, c, 2048, 256, ttft * slow, tpot * slow, "synthetic"))

    def fit_rows(rs):
        return {"vllm": fit(catalog, rs, "vllm", "nvidia_hopper", "test")}  # as fit_class fits one engine

    in_sample = residuals(catalog, rows, fit_rows(rows)["vllm"])[0]
    (tpot_lo, tpot_hi), _ = cross_validated_bands(catalog, rows, fit_rows)["vllm"]
    # measured here: in-sample residuals -0.22 .. +0.14, cross-validated band -0.39 .. +0.39 (the 5th-95th percentiles were -0.27 .. +0.23)
    assert tpot_lo < min(in_sample) - 0.02 and tpot_hi > max(in_sample) + 0.05
    assert tpot_hi - tpot_lo > max(in_sample) - min(in_sample) + 0.1
    shipped = fit_class(catalog, rows, "nvidia_hopper", "test")["vllm"]
    assert shipped.tpot_log_band == (tpot_lo, tpot_hi)
    assert cross_validated_bands(catalog, rows[:3], fit_rows) == {}  # one model: nothing to leave out


def test_band_reaches_both_sides_whichever_side_the_held_out_models_fell():
    """Two held-out models measured 20-30% slower than predicted say how far off a new model may be,
    not on which side: the next one may be 25% faster.  The band is +-the 90th percentile of
    |ln(measured/predicted)|, so it covers ln(1/1.25) as well as ln(1.25)."""
    from solver.predict.calibration import band

    slower = [0.18, 0.2, 0.22, 0.25, 0.26, 0.28, 0.3, 0.3, 0.31, 0.32]
    lo, hi = band(slower)
    assert lo == -hi
    assert lo <= -0.223 <= hi  # a model 25% faster: ln(1/1.25) = -0.223
    assert hi == pytest.approx(0.311, abs=1e-3)  # 90th percentile of |residual|, interpolated
    assert band([-x for x in slower]) == (lo, hi)


def test_fit_recovers_each_gpus_burst_factor(catalog, monkeypatch):
    """One engine measured on two GPUs whose campaigns sent requests differently (waves on the H200,
    staggered on the H100): the fit recovers each GPU's burst factor, not their mix, and the planted
    hardware factors still.  The prior about the GPUs' mean shrinks them toward each other a little."""
    import solver.predict.calibration.fitting as cal

    truth = TRUTH.model_copy(update={"burst_factor_by_gpu": {"h100-sxm-80gb": 0.05, "h200-sxm-141gb": 0.6}})
    rows = []
    for gpu in ("h100-sxm-80gb", "h200-sxm-141gb"):
        for model, tp, prec in (("llama-3.1-8b", 1, P.bf16), ("llama-3.1-70b", 4, P.fp8), ("qwen3-32b", 2, P.bf16)):
            for c in (1, 8, 32, 64):
                for i, o in ((1024, 256), (4096, 512)):
                    m = Measurement(model, gpu, "vllm", prec, P.bf16, tp, 1, c, i, o, 1e9, 1e9, "synthetic")
                    ttft, tpot = predict_measurement(catalog, m, truth)
                    rows.append(Measurement(model, gpu, "vllm", prec, P.bf16, tp, 1, c, i, o, ttft, tpot, "synthetic"))
    got = cal.fit_joint(catalog, rows, "nvidia_hopper", "test")["vllm"]
    # measured: 0.056 and 0.544 with the shipped prior (sigma 1 logit)
    assert got.burst_for("h100-sxm-80gb") == pytest.approx(0.05, rel=0.2)
    assert got.burst_for("h200-sxm-141gb") == pytest.approx(0.6, rel=0.15)
    assert got.bandwidth_efficiency == pytest.approx(0.62, rel=0.05)
    monkeypatch.setattr(cal, "GPU_BURST_PRIOR_SIGMA", 1e6)  # without the prior: exactly the planted values
    free = cal.fit_joint(catalog, rows, "nvidia_hopper", "test")["vllm"]
    assert free.burst_factor_by_gpu == pytest.approx({"h100-sxm-80gb": 0.05, "h200-sxm-141gb": 0.6}, rel=0.02)
    # measured on one GPU only: no GPU of its own, the engine's value serves the class
    one = cal.fit_joint(catalog, [m for m in rows if m.gpu == "h200-sxm-141gb"], "nvidia_hopper", "test")["vllm"]
    assert one.burst_factor_by_gpu == {} and one.burst_factor == pytest.approx(0.6, rel=0.05)


def test_a_gpus_own_burst_factor_lengthens_only_its_ttft(catalog):
    """burst_factor_by_gpu applies to the GPU it names; the class's other GPUs take burst_factor."""
    waves = TRUTH.model_copy(update={"burst_factor_by_gpu": {"h200-sxm-141gb": 0.9}})
    for gpu, changed in (("h200-sxm-141gb", True), ("h100-sxm-80gb", False)):
        m = Measurement("llama-3.1-70b", gpu, "vllm", P.fp8, P.bf16, 4, 1, 32, 4096, 512, 1e9, 1e9, "synthetic")
        (ttft0, _), (ttft1, _) = predict_measurement(catalog, m, TRUTH), predict_measurement(catalog, m, waves)
        assert (ttft1 > 1.5 * ttft0) if changed else (ttft1 == ttft0)
    # an unmeasured engine is no faster on that GPU than the measured one there
    from solver.predict.calibration import unmeasured_engine

    other = TRUTH.model_copy(update={"engine": "sglang", "id": "sglang@nvidia_hopper", "burst_factor": 0.3})
    star = unmeasured_engine([waves, other])
    assert star.burst_for("h200-sxm-141gb") == 0.9 and star.burst_for("h100-sxm-80gb") == 0.3
