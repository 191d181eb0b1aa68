"""Every (engine, GPU class) fitted with cross-validated bands, the wildcard fallbacks, and the
catalog overlay YAML that `gpuplan calibrate -o` writes."""

from __future__ import annotations

from solver.predict.calibration.bands import cross_validated_bands, with_bands
from solver.predict.calibration.fitting import OWN, fit_joint
from solver.predict.calibration.measurements import Measurement
from solver.schema.calibration import PerfFactors
from solver.schema.catalog import Catalog


def fit_class(catalog: Catalog, rows: list[Measurement], gpu_class: str, source: str,
              cache: dict | None = None) -> dict[str, PerfFactors]:
    """Factors per engine for one hardware class (a joint fit when several engines were measured,
    see fit_joint), with error bands cross-validated over models (cross_validated_bands).

    `cache` (keyed by the training rows) lets callers that fit overlapping subsets, such as the
    leave-one-model-out benchmark, reuse the fits."""
    def fit_rows(rs: list[Measurement]) -> dict[str, PerfFactors]:
        key = (gpu_class, frozenset(rs))
        if cache is not None and key in cache:
            return cache[key]
        out = fit_joint(catalog, rs, gpu_class, source)
        if cache is not None:
            cache[key] = out
        return out

    return with_bands(fit_rows(rows), cross_validated_bands(catalog, rows, fit_rows))


def fit_all(catalog: Catalog, rows: list[Measurement], source: str) -> list[PerfFactors]:
    """Factors for every (engine, GPU class) in `rows` (fit_class), plus '<engine>@*' and '*@*' fallbacks.

    The '<engine>@*' entries carry the engine's fit on the first class measured; '*@*' (an engine never
    measured) is `unmeasured_engine` of that class's fits.  Lookups through wildcards are labelled
    extrapolated and get a widened error band (solver.predict.estimate.EXTRAPOLATED_WIDEN).
    """
    by_class: dict[str, list[Measurement]] = {}
    for m in rows:
        by_class.setdefault(catalog.gpus[m.gpu].compat_key, []).append(m)
    out: list[PerfFactors] = []
    wildcard: dict[str, PerfFactors] = {}
    first_class: list[PerfFactors] = []
    for cls, rs in sorted(by_class.items()):
        fits = [f for _, f in sorted(fit_class(catalog, rs, cls, source).items())]
        out.extend(fits)
        first_class = first_class or fits
        for f in fits:
            wildcard.setdefault(f.engine, f)  # the first class measured stands in for the others
    for engine, f in sorted(wildcard.items()):
        # GPUs of other classes: the engine's burst factor, not a measured GPU's
        out.append(f.model_copy(update={"id": f"{engine}@*", "gpu_class": "*", "burst_factor_by_gpu": {}}))
    out.append(unmeasured_engine(first_class))
    return out


def unmeasured_engine(fits: list[PerfFactors]) -> PerfFactors:
    """Factors for an engine with no measurement ('*@*'), from the engines measured on one class: their
    hardware efficiencies (shared in a joint fit), the largest of their per-engine overheads and burst
    factors (on a GPU with burst factors of its own, the largest there), and the envelope of their error bands.  An engine nobody measured is not assumed to serve
    faster than any measured one: a planner ranking configurations on cost must not prefer it on a
    guess (with pooled factors, llama.cpp out-ranked vLLM for 500 chat users)."""
    first = fits[0]
    # the slowest: the largest overhead and burst factor, the smallest efficiency
    worst = {p: (min if p.endswith("efficiency") else max)(getattr(f, p) for f in fits) for p in OWN}
    measured_gpus = sorted({g for f in fits for g in f.burst_factor_by_gpu})
    return first.model_copy(update={
        "id": "*@*", "engine": "*", "gpu_class": "*", **worst,
        "burst_factor_by_gpu": {g: max(f.burst_for(g) for f in fits) for g in measured_gpus},
        "tpot_log_band": (min(f.tpot_log_band[0] for f in fits), max(f.tpot_log_band[1] for f in fits)),
        "ttft_log_band": (min(f.ttft_log_band[0] for f in fits), max(f.ttft_log_band[1] for f in fits)),
        "measured_points": sum(f.measured_points for f in fits),
    })


def overlay_yaml(factors: list[PerfFactors], header: str = "") -> str:
    import yaml

    body = yaml.safe_dump({"calibration": [f.model_dump(mode="json") for f in factors]}, sort_keys=False, width=200)
    return header + body
