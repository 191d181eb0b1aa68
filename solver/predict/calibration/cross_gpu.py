"""Factors for a GPU the fit did not see, and the error of predictions made that way (leave-one-GPU-out).

Which fit serves an (engine, GPU), as the catalog's lookup does (solver.predict.attainable.factors_for):
the engine's fit on the GPU's class when the GPU was in it or it rests on enough evidence
(attainable.thin), else the engine's fit on the class where it has the most rows (the shipped
`<engine>@*` entries); either way as it applies on the GPU (attainable.onto_gpu: moved onto its own
attainable rates, band widened for borrowed figures) when the GPU was not among the fit's.

Leave-one-GPU-out: every GPU with MIN_HELD_ROWS rows is held out in turn, the factors are fitted on
the other GPUs' rows (one joint fit per class) and its rows predicted as above.  Its residuals give
the band of the wildcard entries — what a GPU outside the fit should expect — instead of a blanket
widening of the fitted band.
"""

from __future__ import annotations

from solver.predict.attainable import onto_gpu, thin
from solver.predict.calibration.fitting import fit_joint
from solver.predict.calibration.measurements import Measurement, predict_measurement
from solver.schema.calibration import PerfFactors
from solver.schema.catalog import Catalog
from solver.schema.hardware import Gpu

MIN_HELD_ROWS = 20

Fits = dict[str, dict[str, PerfFactors]]  # class -> engine -> factors


def best_measured(fits: Fits, engine: str) -> PerfFactors | None:
    """The engine's fit on the class where it has the most rows (ties: the class name)."""
    return max((fs[engine] for fs in fits.values() if engine in fs), key=lambda f: (f.measured_points, f.gpu_class), default=None)


def choose(fits: Fits, gpu: Gpu, engine: str) -> PerfFactors | None:
    """What the catalog's lookup (solver.predict.attainable.factors_for) would serve `gpu` from `fits`."""
    own = fits.get(gpu.compat_key, {}).get(engine)
    if own is not None and (gpu.id in own.reference_gpus or not thin(own)):
        return own
    return best_measured(fits, engine)


def fit_classes(catalog: Catalog, rows: list[Measurement], source: str, cache: dict | None = None) -> Fits:
    """One joint fit per class of `rows` (fit_joint); `cache` keeps fits of the same rows."""
    cache = {} if cache is None else cache
    out: Fits = {}
    for cls in sorted({catalog.gpus[m.gpu].compat_key for m in rows}):
        mine = [m for m in rows if catalog.gpus[m.gpu].compat_key == cls]
        key = (cls, frozenset(mine))
        if key not in cache:
            cache[key] = fit_joint(catalog, mine, cls, source)
        out[cls] = cache[key]
    return out


def leave_one_gpu_out(catalog: Catalog, rows: list[Measurement], as_fitted: bool = False,
                      cache: dict | None = None) -> list[tuple[Measurement, PerfFactors, tuple[float, float]]]:
    """(row, the factors that predicted it, (ttft_ms, tpot_ms)) for every row of every GPU with
    MIN_HELD_ROWS rows, predicted by a fit on the other GPUs; `as_fitted`: without moving the factors
    onto the held-out GPU's attainable rates (for comparison); `cache`: fits shared with another call
    on the same rows."""
    by_gpu: dict[str, list[Measurement]] = {}
    for m in rows:
        by_gpu.setdefault(m.gpu, []).append(m)
    out = []
    cache = {} if cache is None else cache
    for held in sorted(g for g, rs in by_gpu.items() if len(rs) >= MIN_HELD_ROWS):
        train = [m for m in rows if m.gpu != held]
        if not train:
            continue
        fits = fit_classes(catalog, train, "leave-one-GPU-out", cache)
        gpu = catalog.gpus[held]
        for m in by_gpu[held]:
            f = choose(fits, gpu, m.engine)
            if f is None:
                continue
            f = f if as_fitted else onto_gpu(catalog, f, gpu, m.precision)
            pred = predict_measurement(catalog, m, f)
            if pred is not None:
                out.append((m, f, pred))
    return out
