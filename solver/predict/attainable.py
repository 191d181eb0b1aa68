"""Engine efficiencies on top of each GPU's own attainable rates.

The calibrated efficiencies (catalog/calibration.yaml) are what an engine achieved of the datasheet
peaks on the GPUs it was measured on.  Part of that is the engine (software); part is the hardware:
how much of its datasheet peak the GPU itself can reach, which microbenchmarks measure per GPU
(`attainable` in catalog/gpus.yaml, from shared/reference/achievable.yaml: large dense GEMMs reach
about 0.8 of the datasheet peak on an H100 SXM, 0.5 on an MI300X; HBM streaming 0.89 and 0.77).

On a GPU whose serving runs were not in the fit, the model keeps the engine's part and swaps the
hardware's: each efficiency is multiplied by attainable(GPU) / attainable(reference), the reference
being the mean over the GPUs the efficiencies were fitted on (PerfFactors.reference_gpus: H100 SXM
and H200 SXM for the shipped Hopper fit, whose attainable rates agree within 2%).  Compute uses the
8-bit GEMM share for 8-bit weights on a GPU with FP8 units (where both sides were measured), else the
16-bit share; a rate not measured on either side is left unscaled, and factors without
reference_gpus (overlays written before it existed) apply as they are.
"""

from __future__ import annotations

import math

from solver.schema.calibration import PerfFactors
from solver.schema.catalog import Catalog
from solver.schema.hardware import Gpu
from solver.schema.precision import Precision

EIGHT_BIT = {Precision.fp8, Precision.int8}


def _mean(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


def hardware_ratios(catalog: Catalog, gpu: Gpu, precision: Precision, reference: list[str]) -> tuple[float, float]:
    """(bandwidth, compute) attainable share of `gpu` over the mean of the `reference` GPUs'; 1.0 where
    either side is unmeasured."""
    a = gpu.attainable
    refs = [catalog.gpus[g].attainable for g in reference if g in catalog.gpus and catalog.gpus[g].attainable is not None]
    if a is None or not refs:
        return 1.0, 1.0
    r_bw = _mean([r.hbm for r in refs])
    bw = a.hbm / r_bw if a.hbm is not None and r_bw is not None else 1.0
    r8, r16 = _mean([r.gemm_8bit for r in refs]), _mean([r.gemm_16bit for r in refs])
    if precision in EIGHT_BIT and a.gemm_8bit is not None and r8 is not None and "fp8" in gpu.native_precisions:
        comp = a.gemm_8bit / r8
    elif a.gemm_16bit is not None and r16 is not None:
        comp = a.gemm_16bit / r16
    else:
        comp = 1.0
    return bw, comp


def off_fit(factors: PerfFactors, gpu: Gpu) -> bool:
    """`gpu` is not among the GPUs `factors` were fitted on (False when they name none: overlays written
    before reference_gpus existed apply as they are)."""
    return bool(factors.reference_gpus) and gpu.id not in factors.reference_gpus


def moved_onto(catalog: Catalog, factors: PerfFactors, gpu: Gpu, precision: Precision) -> PerfFactors:
    """`factors` with their efficiencies moved onto `gpu`'s own attainable rates; unchanged on a GPU of
    the fit (off_fit)."""
    if not off_fit(factors, gpu):
        return factors
    bw, comp = hardware_ratios(catalog, gpu, precision, factors.reference_gpus)
    if bw == 1.0 and comp == 1.0:
        return factors
    return factors.model_copy(update={
        "bandwidth_efficiency": factors.bandwidth_efficiency * bw,
        "compute_efficiency_prefill": factors.compute_efficiency_prefill * comp,
        "compute_efficiency_decode": factors.compute_efficiency_decode * comp,
    })


#: the share of the sibling rule's known errors a widened band covers (docs/model.md: a band holds ~80-90%)
SIBLING_QUANTILE = 0.8


def sibling_rule_error(catalog: Catalog, name: str) -> float:
    """How wrong the sibling rule is for attainable figure `name` where the answer is known: each GPU that
    measured it against the nearest-bandwidth other GPU of its class that did (the rule
    tools/catalog_sources/attainable.py applies), |ln(own / sibling's)|, pooled over the classes; its
    SIBLING_QUANTILE quantile (upper).  0 where no class has two such GPUs."""
    key = ("sibling_rule_error", name)
    if key in catalog.derived:
        return catalog.derived[key]
    errors: list[float] = []
    own = [g for g in catalog.gpus.values() if g.attainable is not None and name not in g.attainable.borrowed
           and getattr(g.attainable, name) is not None]
    for g in own:
        peers = [o for o in own if o.compat_key == g.compat_key and o.id != g.id]
        if peers:
            sib = min(peers, key=lambda o: (abs(o.memory_bandwidth_tbs - g.memory_bandwidth_tbs), o.id))
            errors.append(abs(math.log(getattr(g.attainable, name) / getattr(sib.attainable, name))))
    errors.sort()
    catalog.derived[key] = errors[min(len(errors) - 1, math.ceil(SIBLING_QUANTILE * len(errors)) - 1)] if errors else 0.0
    return catalog.derived[key]


def sibling_widening(catalog: Catalog, gpu: Gpu) -> float:
    """How much wider (ln, each side) the band of a GPU off the fit is for the attainable figures it took
    from an architecture sibling (Attainable.borrowed): the largest sibling_rule_error of them; 0 when
    nothing is borrowed."""
    a = gpu.attainable
    if a is None or not a.borrowed:
        return 0.0
    return max(sibling_rule_error(catalog, name) for name in a.borrowed)


def widened(factors: PerfFactors, w: float) -> PerfFactors:
    """`factors` with both bands `w` wider on each side (ln)."""
    if w <= 0:
        return factors
    (tl, th), (pl, ph) = factors.ttft_log_band, factors.tpot_log_band
    return factors.model_copy(update={"ttft_log_band": (max(tl - w, -10.0), min(th + w, 10.0)),
                                      "tpot_log_band": (max(pl - w, -10.0), min(ph + w, 10.0))})


#: an engine's fit on a class serves the class's other GPUs only on this much evidence (rows, models):
#: a fit on a handful of rows of one model is not one to extrapolate from
MIN_FIT_ROWS, MIN_FIT_MODELS = 50, 2


def thin(factors: PerfFactors) -> bool:
    """Too little evidence to carry to a GPU outside the fit (unknown model counts are not thin)."""
    return factors.measured_models > 0 and (factors.measured_points < MIN_FIT_ROWS or factors.measured_models < MIN_FIT_MODELS)


def onto_gpu(catalog: Catalog, factors: PerfFactors, gpu: Gpu, precision: Precision) -> PerfFactors:
    """Fitted `factors` as they apply on `gpu`: off the fit, moved onto its attainable rates (moved_onto)
    and their bands widened for the figures it took from a sibling (sibling_widening)."""
    if not off_fit(factors, gpu):
        return factors
    return widened(moved_onto(catalog, factors, gpu, precision), sibling_widening(catalog, gpu))


def factors_for(catalog: Catalog, engine_id: str, gpu: Gpu, precision: Precision) -> tuple[PerfFactors, bool]:
    """The engine's factors on `gpu` (catalog.factors) as they apply there (onto_gpu); bool: the factors
    are its class's own.  A class fit on thin evidence serves only its own GPUs; the class's other GPUs
    take the engine's wildcard entry (the engine's best-measured class).  Kept per catalog: the planner
    asks once per server and engine of every scenario."""
    key = ("factors_for", engine_id, gpu.id, precision)
    hit = catalog.derived.get(key)
    if hit is not None:
        return hit
    factors, exact = catalog.factors(engine_id, gpu.compat_key)
    if exact and thin(factors) and gpu.id not in factors.reference_gpus:
        wildcard = catalog.calibration.get(f"{engine_id}@*") or catalog.calibration.get("*@*")
        if wildcard is not None:
            factors, exact = wildcard, False
    catalog.derived[key] = out = (onto_gpu(catalog, factors, gpu, precision), exact)
    return out
