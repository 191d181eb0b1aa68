"""Every (engine, GPU class) fitted with cross-validated bands, the wildcard fallbacks, and the
catalog overlay YAML that `gpuplan calibrate -o` writes."""

from __future__ import annotations

import math

from solver.predict.calibration.bands import cross_validated_bands, with_bands
from solver.predict.calibration.fitting import OWN, fit_joint
from solver.predict.calibration.measurements import Measurement
from solver.schema.calibration import PerfFactors
from solver.schema.catalog import Catalog

MIN_BAND_ROWS = 20  # held-out rows an engine needs for a leave-one-GPU-out band of its own


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

    Every (engine, class) fit enters the catalog; one on thin evidence (attainable.thin) serves only
    the GPUs it was fitted on, the class's others take the wildcard.  '<engine>@*' is the
    engine's fit on the class where it has the most rows; '*@*' (an engine never measured) is
    `unmeasured_engine` of the largest class's fits.  With two or more GPUs measured, the wildcards'
    bands are those of leave-one-GPU-out (cross_gpu.leave_one_gpu_out: each GPU predicted by a fit on
    the others, on its own attainable rates), the error a GPU outside the fit should expect, and no
    narrower than the source fit's own band (models left out); with one,
    the fitted bands, widened at lookup (solver.predict.estimate.EXTRAPOLATED_WIDEN).
    """
    from solver.predict.calibration.bands import band
    from solver.predict.calibration.cross_gpu import best_measured, leave_one_gpu_out

    by_class: dict[str, list[Measurement]] = {}
    for m in rows:
        by_class.setdefault(catalog.gpus[m.gpu].compat_key, []).append(m)
    fits = {cls: fit_class(catalog, rs, cls, source) for cls, rs in sorted(by_class.items())}
    out = [f for _, fs in fits.items() for _, f in sorted(fs.items())]
    res: dict[str, tuple[list[float], list[float]]] = {}
    for m, _, (ttft, tpot) in leave_one_gpu_out(catalog, rows):
        t = res.setdefault(m.engine, ([], []))
        t[0].append(math.log(m.tpot_ms / tpot))
        t[1].append(math.log(m.ttft_ms / ttft))
    wildcards = []
    for engine in sorted({e for fs in fits.values() for e in fs}):
        f = best_measured(fits, engine)
        upd: dict = {"id": f"{engine}@*", "gpu_class": "*", "burst_factor_by_gpu": {}}  # other GPUs: the engine's burst factor
        if engine in res and len(res[engine][0]) >= MIN_BAND_ROWS:
            # a GPU outside the fit, serving a model perhaps outside it too: no narrower than the fit's own
            # (models left out) band, and as wide as GPUs left out showed
            upd.update(tpot_log_band=_wider(f.tpot_log_band, band(res[engine][0])),
                       ttft_log_band=_wider(f.ttft_log_band, band(res[engine][1])), band_basis="leave-one-GPU-out")
        wildcards.append(f.model_copy(update=upd))
    largest = max(by_class, key=lambda c: (len(by_class[c]), c))
    star = unmeasured_engine([f for _, f in sorted(fits[largest].items())])
    logo = [w for w in wildcards if w.band_basis == "leave-one-GPU-out"]
    if logo:  # an engine nobody measured: the envelope of the measured engines' cross-GPU bands
        star = star.model_copy(update={
            "tpot_log_band": (min(w.tpot_log_band[0] for w in logo), max(w.tpot_log_band[1] for w in logo)),
            "ttft_log_band": (min(w.ttft_log_band[0] for w in logo), max(w.ttft_log_band[1] for w in logo)),
            "band_basis": "leave-one-GPU-out"})
    return out + wildcards + [star]


def _wider(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return min(a[0], b[0]), max(a[1], b[1])


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
