"""Per-GPU attainable rates: read from the microbenchmarks with their sources, and a GPU without serving
rows predicted from its own rates (not the fit's GPUs')."""

from __future__ import annotations

import math

import pytest
import yaml

from solver.predict.attainable import factors_for, hardware_ratios
from solver.predict.estimate import estimate
from solver.schema.precision import Precision
from tests.helpers import with_entries


def _rows(reference, gpu_id: str, metric: str, precisions: tuple[str, ...]) -> list[float]:
    rows = yaml.safe_load((reference / "achievable.yaml").read_text())
    return [r["fraction_of_peak"] for r in rows if r.get("catalog_id") == gpu_id and r["metric"] == metric
            and str(r.get("precision", "")).lower().startswith(precisions) and r.get("fraction_of_peak") is not None]


def test_each_measured_rate_comes_from_its_source_rows(catalog, reference):
    checked = 0
    for g in catalog.gpus.values():
        a = g.attainable
        if a is None:
            continue
        assert any("achievable.yaml" in s for s in a.source)
        for name, metric, prec in (("gemm_16bit", "gemm_tflops_large", ("bf16", "fp16")),
                                   ("gemm_8bit", "gemm_tflops_large", ("fp8", "e4m3", "mxfp8")),
                                   ("hbm", "hbm_bandwidth", ("",)), ("allreduce", "allreduce_busbw", ("",))):
            if name in a.borrowed:  # a sibling's figure, checked against the sibling's rows
                continue
            value = getattr(a, name)
            rows = _rows(reference, g.id, metric, prec)
            if value is not None and rows:
                assert min(rows) <= value <= max(rows), (g.id, metric, value, rows)
                checked += 1
    assert checked >= 15
    h100 = catalog.gpus["h100-sxm-80gb"].attainable
    assert (h100.gemm_16bit, h100.hbm) == (0.806, 0.887)  # torch.matmul / torch.mm rows, BabelStream triad
    mi300x = catalog.gpus["mi300x-192gb"].attainable
    assert mi300x.gemm_16bit < 0.6  # about half the datasheet peak (AMD's own MAF table)


def test_a_gpu_without_serving_rows_is_predicted_from_its_own_rates(catalog):
    mi300x = catalog.gpus["mi300x-192gb"]
    wild = catalog.calibration["vllm@*"]  # the engine's fit on its best-measured class
    f, exact = factors_for(catalog, "vllm", mi300x, Precision.bf16)
    assert not exact and f.reference_gpus == wild.reference_gpus and "mi300x-192gb" not in f.reference_gpus
    ref = [catalog.gpus[g].attainable for g in f.reference_gpus]
    mean_hbm = sum(r.hbm for r in ref) / len(ref)
    assert f.bandwidth_efficiency == pytest.approx(wild.bandwidth_efficiency * mi300x.attainable.hbm / mean_hbm)
    assert f.compute_efficiency_prefill < 0.75 * wild.compute_efficiency_prefill  # not the fit GPUs' factors
    # the prediction follows the GPU's own measured rate: halve its attainable GEMM share, prefill slows
    args = (catalog.models["llama-3.1-8b"], mi300x, catalog.engines["vllm"], Precision.bf16, Precision.bf16, 1, 1, 8000, 200, 1)
    before = estimate(catalog, *args).perf
    slower = mi300x.model_copy(update={"attainable": mi300x.attainable.model_copy(update={"gemm_16bit": mi300x.attainable.gemm_16bit / 2})})
    cat2 = with_entries(catalog, gpus=(slower,))
    after = estimate(cat2, catalog.models["llama-3.1-8b"], slower, *args[2:]).perf
    assert after.prefill_ms > 1.5 * before.prefill_ms


def test_the_fit_gpus_keep_their_fitted_factors(catalog):
    for gid in ("h100-sxm-80gb", "h200-sxm-141gb", "b200-sxm-180gb"):
        f, exact = factors_for(catalog, "vllm", catalog.gpus[gid], Precision.fp8)
        assert exact and f == catalog.factors("vllm", catalog.gpus[gid].compat_key)[0]
    # a Hopper GPU outside the fit (power-capped PCIe card) takes its own, lower, GEMM share
    bw, comp = hardware_ratios(catalog, catalog.gpus["h100-pcie-80gb"], Precision.bf16, ["h100-sxm-80gb", "h200-sxm-141gb"])
    assert comp < 0.85 and bw > 1.0


def test_a_thin_class_fit_serves_only_its_own_gpus(catalog):
    """An engine fitted on a few rows of one model on one GPU of a class: that GPU uses the fit, the
    class's other GPUs the engine's wildcard (its best-measured class), moved onto their own rates."""
    from solver.predict.calibration.fitting import make_factors

    thin_fit = make_factors("vllm", "nvidia_ampere", [0.5, 0.6, 0.4, 60.0, 30.0, 1.0, 0.05, 0.6, 0.5, 0.0, 0.0, 1.0],
                            n=8, reference_gpus=["a100-sxm4-80gb"], models=1)
    cat = with_entries(catalog, calibration=(thin_fit,))
    own, exact = factors_for(cat, "vllm", cat.gpus["a100-sxm4-80gb"], Precision.bf16)
    assert exact and own.bandwidth_efficiency == 0.5
    other, exact = factors_for(cat, "vllm", cat.gpus["a10-24gb"], Precision.bf16)
    assert not exact and other.id == "vllm@*"


def test_calibrate_bands_gpus_outside_the_fit_by_leaving_gpus_out(catalog):
    """With two GPUs measured, the wildcard entries' bands come from each GPU predicted by a fit on the
    other (not a blanket widening of the fitted band)."""
    from solver.predict.calibration import fit_all
    from solver.predict.calibration.fitting import make_factors
    from solver.predict.calibration.measurements import Measurement, predict_measurement
    from solver.predict.estimate import band_factors

    truth = make_factors("vllm", "nvidia_ampere", [0.5, 0.6, 0.4, 60.0, 30.0, 1.0, 0.05, 0.6, 0.5, 0.0, 0.0, 1.0])
    rows = []
    for gpu, skew in (("a100-sxm4-80gb", 1.0), ("a10-24gb", 1.3)):  # the second GPU runs 30% slower than the model says
        for model, tp in (("llama-3.1-8b", 1), ("qwen3-8b", 1)):
            for c in (1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 160):
                m = Measurement(model, gpu, "vllm", Precision.bf16, Precision.bf16, tp, 1, c, 1024, 128, 1.0, 1.0, "synthetic")
                p = predict_measurement(catalog, m, truth)
                if p is not None:
                    rows.append(Measurement(model, gpu, "vllm", Precision.bf16, Precision.bf16, tp, 1, c, 1024, 128,
                                            p[0] * skew, p[1] * skew, "synthetic"))
    fits = {f.id: f for f in fit_all(catalog, rows, "synthetic")}
    wild = fits["vllm@*"]
    assert wild.band_basis == "leave-one-GPU-out" and wild.reference_gpus == ["a10-24gb", "a100-sxm4-80gb"]
    assert wild.tpot_log_band[1] > 0.05  # the 30% skew between the GPUs shows in the band
    (t_lo, t_hi), _ = band_factors(wild, False)
    assert t_hi == pytest.approx(math.exp(wild.ttft_log_band[1]))  # not widened again
    assert fits["*@*"].band_basis == "leave-one-GPU-out"


def test_a_borrowed_rate_is_flagged_and_widens_the_band_off_the_fit(catalog):
    """A figure taken from an architecture sibling is listed, the GPU's attainable rates flagged
    unverified, and off the fit its band widens by the sibling rule's own 80th-percentile error where
    the answer is known; a GPU of the fit keeps its measured band."""
    import math

    from solver.predict.attainable import sibling_rule_error, sibling_widening

    a40 = catalog.gpus["a100-sxm4-40gb"]  # GEMM and HBM shares from the A100 80GB, not measured on it
    assert {"gemm_16bit", "hbm"} <= set(a40.attainable.borrowed) and "attainable" in a40.unverified
    assert catalog.gpus["a100-sxm4-80gb"].attainable.borrowed == [] and "attainable" not in catalog.gpus["a100-sxm4-80gb"].unverified
    w = sibling_widening(catalog, a40)
    assert w == max(sibling_rule_error(catalog, n) for n in a40.attainable.borrowed) > 0
    # the rule's error is what the data says: the Hopper pair's GEMM shares are among the known errors
    h100, h200 = (catalog.gpus[g].attainable.gemm_16bit for g in ("h100-sxm-80gb", "h200-sxm-141gb"))
    assert sibling_rule_error(catalog, "gemm_16bit") >= abs(math.log(h100 / h200))
    args = (catalog.models["llama-3.1-70b"], a40, catalog.engines["vllm"], Precision.bf16, Precision.bf16, 4, 1, 1024, 256, 16)
    wide = estimate(catalog, *args)
    plain = a40.model_copy(update={"attainable": a40.attainable.model_copy(update={"borrowed": []})})
    cat2 = with_entries(catalog, gpus=(plain,))
    narrow = estimate(cat2, catalog.models["llama-3.1-70b"], plain, *args[2:])
    (_, _), (pl, ph) = wide.band()
    (_, _), (ql, qh) = narrow.band()
    assert math.log(ph / qh) == pytest.approx(w) and math.log(ql / pl) == pytest.approx(w)
    assert wide.perf.tpot_ms == narrow.perf.tpot_ms  # the prediction itself is the same
    assert any("architecture sibling" in n for n in wide.notes) and not narrow.notes
    # on a GPU of the fit, nothing widens
    h100 = estimate(catalog, catalog.models["llama-3.1-70b"], catalog.gpus["h100-sxm-80gb"], catalog.engines["vllm"],
                    Precision.fp8, Precision.bf16, 4, 1, 1024, 256, 16)
    assert not any("architecture sibling" in n for n in h100.notes)
