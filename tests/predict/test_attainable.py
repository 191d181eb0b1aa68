"""Per-GPU attainable rates: read from the microbenchmarks with their sources, and a GPU without serving
rows predicted from its own rates (not the fit's GPUs')."""

from __future__ import annotations

import yaml

from solver.predict.attainable import factors_for, hardware_ratios
from solver.predict.estimate import estimate
from solver.schema.catalog import Catalog
from solver.schema.precision import Precision


def _rows(reference, gpu_id: str, metric: str, precisions: tuple[str, ...]) -> list[float]:
    rows = yaml.safe_load((reference / "achievable.yaml").read_text())
    return [r["fraction_of_peak"] for r in rows if r.get("catalog_id") == gpu_id and r["metric"] == metric
            and str(r.get("precision", "")).lower().startswith(precisions) and r.get("fraction_of_peak") is not None]


def test_each_measured_rate_comes_from_its_source_rows(catalog, reference):
    checked = 0
    for g in catalog.gpus.values():
        a = g.attainable
        if a is None or a.basis != "measured":
            continue
        assert any("achievable.yaml" in s for s in a.source)
        for value, metric, prec in ((a.gemm_16bit, "gemm_tflops_large", ("bf16", "fp16")),
                                    (a.gemm_8bit, "gemm_tflops_large", ("fp8", "e4m3", "mxfp8")),
                                    (a.hbm, "hbm_bandwidth", ("",))):
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
    hopper, _ = catalog.factors("vllm", "nvidia_hopper")
    f, exact = factors_for(catalog, "vllm", mi300x, Precision.bf16)
    assert not exact and f.reference_gpus == ["h100-sxm-80gb", "h200-sxm-141gb"]
    ref = [catalog.gpus[g].attainable for g in f.reference_gpus]
    assert f.bandwidth_efficiency == hopper.bandwidth_efficiency * mi300x.attainable.hbm / (sum(r.hbm for r in ref) / 2)
    assert f.compute_efficiency_prefill < 0.7 * hopper.compute_efficiency_prefill  # not the Hopper factors
    # the prediction follows the GPU's own measured rate: halve its attainable GEMM share, prefill slows
    args = (catalog.models["llama-3.1-8b"], mi300x, catalog.engines["vllm"], Precision.bf16, Precision.bf16, 1, 1, 8000, 200, 1)
    before = estimate(catalog, *args).perf
    slower = mi300x.model_copy(update={"attainable": mi300x.attainable.model_copy(update={"gemm_16bit": mi300x.attainable.gemm_16bit / 2})})
    cat2 = Catalog(list({**catalog.gpus, slower.id: slower}.values()), list(catalog.servers.values()), list(catalog.engines.values()),
                   list(catalog.models.values()), list(catalog.calibration.values()), catalog.files,
                   [catalog.pricing] if catalog.pricing else None)
    after = estimate(cat2, catalog.models["llama-3.1-8b"], slower, *args[2:]).perf
    assert after.prefill_ms > 1.5 * before.prefill_ms


def test_the_fit_gpus_keep_their_fitted_factors(catalog):
    for gid in ("h100-sxm-80gb", "h200-sxm-141gb"):
        f, exact = factors_for(catalog, "vllm", catalog.gpus[gid], Precision.fp8)
        assert exact and f == catalog.factors("vllm", "nvidia_hopper")[0]
    # a Hopper GPU outside the fit (power-capped PCIe card) takes its own, lower, GEMM share
    bw, comp = hardware_ratios(catalog, catalog.gpus["h100-pcie-80gb"], Precision.bf16, ["h100-sxm-80gb", "h200-sxm-141gb"])
    assert comp < 0.85 and bw > 1.0
