"""The least-squares fit of the speed model's factors (PerfFactors) to measurements.

The fit minimises soft-L1 squared log errors of TPOT and TTFT (scipy.optimize.least_squares) over
the factors in SPEC; hardware efficiencies are shared between engines, overheads and burstiness are
each engine's own (fit_joint)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import NamedTuple

from solver.errors import GpuplanError
from solver.predict.calibration.bands import band
from solver.predict.calibration.measurements import Measurement, prepare_measurement, residuals
from solver.schema.calibration import PerfFactors
from solver.schema.catalog import Catalog
from solver.schema.llm import LlmModel


class ParamSpec(NamedTuple):
    start: float  # where the fits start
    lower: float
    upper: float
    scale: float  # the fit works on value / scale, so that overheads and efficiencies share a scale


#: every fitted factor of PerfFactors.  Two bounds are modelling choices (docs/model.md, "Calibration"):
#: weight streaming reaches at most 90% of the nominal HBM bandwidth, and a decode step's GEMMs at least
#: half the dense peak.  Fitted on the online measurements alone (up to 128-512 users), the decode
#: efficiency falls to 0.1-0.14, carrying per-sequence costs as GEMM FLOPs, and large batches come out
#: 1.5-3x slower than the published TensorRT-LLM offline throughput (benchmarks/published.py); with the
#: floor, the KV-read efficiency carries them instead.
SPEC: dict[str, ParamSpec] = {
    "bandwidth_efficiency": ParamSpec(0.7, 0.05, 0.9, 1.0),
    "compute_efficiency_decode": ParamSpec(0.55, 0.5, 1.0, 1.0),
    "compute_efficiency_prefill": ParamSpec(0.5, 0.02, 1.0, 1.0),
    "layer_overhead_us": ParamSpec(50.0, 0.0, 1000.0, 50.0),
    "shared_wait_ms": ParamSpec(30.0, 0.0, 2000.0, 100.0),
    "moe_efficiency": ParamSpec(1.0, 0.1, 2.0, 1.0),
    "burst_factor": ParamSpec(0.05, 0.0, 1.0, 0.1),
    "kv_bandwidth_efficiency": ParamSpec(0.7, 0.05, 2.0, 1.0),
    "moe_prefill_efficiency": ParamSpec(0.7, 0.05, 2.0, 1.0),
    "sparse_layer_overhead_us": ParamSpec(0.0, 0.0, 1000.0, 50.0),
    "linear_layer_overhead_us": ParamSpec(0.0, 0.0, 1000.0, 50.0),
    "moe_ep_efficiency": ParamSpec(1.0, 0.2, 5.0, 1.0),
}
PARAMS = tuple(SPEC)
#: in a joint fit over several engines: the hardware efficiencies are shared, the overheads and the
#: arrival burstiness are each engine's own
SHARED = ("bandwidth_efficiency", "compute_efficiency_decode", "compute_efficiency_prefill", "moe_efficiency",
          "kv_bandwidth_efficiency", "moe_prefill_efficiency", "sparse_layer_overhead_us",
          "linear_layer_overhead_us")
OWN = ("layer_overhead_us", "shared_wait_ms", "burst_factor", "moe_ep_efficiency")
#: the factors only some rows inform (of a model with such layers, of such a layout); fitted only when
#: such a row is there (for an engine's own factor, a row of that engine)
INFORMED_BY: dict[str, Callable[[Measurement, LlmModel], bool]] = {
    "moe_efficiency": lambda m, model: model.moe is not None,
    "moe_prefill_efficiency": lambda m, model: model.moe is not None,
    "sparse_layer_overhead_us": lambda m, model: model.sparse_attention is not None,
    "linear_layer_overhead_us": lambda m, model: model.linear_attention is not None,
    "moe_ep_efficiency": lambda m, model: m.moe_ep > 1,
}
#: an engine measured on several GPUs of a class gets a burst factor per GPU (its campaigns' harness;
#: docs/model.md), fitted as logits (a share in (0, 1), smooth at both ends) with a N(mean, sigma)
#: prior about their mean, which decides only where a GPU has few rows; the engine's own value, for
#: the class's other GPUs, is the logistic of that mean
GPU_BURST_PRIOR_SIGMA = 1.0
BURST_LOGIT_BOUND = 9.0  # a burst factor between 0.0001 and 0.9999


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def make_factors(engine: str, gpu_class: str, x: Iterable[float], tpot_band=(-0.3, 0.3), ttft_band=(-0.5, 0.5),
                 n: int = 0, source: str = "fit", burst_by_gpu: dict[str, float] | None = None,
                 reference_gpus: list[str] | None = None, models: int = 0) -> PerfFactors:
    vals = dict(zip(PARAMS, x, strict=True))
    return PerfFactors(id=f"{engine}@{gpu_class}", engine=engine, gpu_class=gpu_class, tpot_log_band=tpot_band,
                       ttft_log_band=ttft_band, measured_points=n, measured_models=models, source=[source],
                       burst_factor_by_gpu=burst_by_gpu or {}, reference_gpus=reference_gpus or [], **vals)


def fit(catalog: Catalog, rows: list[Measurement], engine: str, gpu_class: str, source: str,
        start: PerfFactors | None = None) -> PerfFactors:
    """Every factor (PARAMS) fitted on one engine's rows: `fit_joint` with a single engine, where no
    factor is shared; band as `band`, from the fit's own residuals."""
    if not rows:
        raise GpuplanError(f"no usable measurement for {engine}@{gpu_class}")
    if {m.engine for m in rows} != {engine}:
        raise GpuplanError(f"fit for {engine}@{gpu_class} given rows of {sorted({m.engine for m in rows})}")
    return fit_joint(catalog, rows, gpu_class, source, start)[engine]


def fit_joint(catalog: Catalog, rows: list[Measurement], gpu_class: str, source: str,
              start: PerfFactors | None = None) -> dict[str, PerfFactors]:
    """One least-squares fit over every engine's rows (soft-L1 on ln(measured/predicted) TPOT and TTFT):
    the hardware-level efficiencies (SHARED) are common to all engines, the overheads and the arrival
    burstiness (OWN) are per engine, so an engine with few measured models borrows the physics of the
    others; an engine measured on several GPUs also gets each GPU's burst factor (burst_factor_by_gpu,
    GPU_BURST_PRIOR_SIGMA).  With one engine every factor is its own (`fit`).  `start`: where the fit
    starts (default each ParamSpec.start)."""
    import numpy as np
    from scipy.optimize import least_squares

    engines = sorted({m.engine for m in rows})
    sc = {p: spec.scale for p, spec in SPEC.items()}
    gpus_of = {e: sorted({m.gpu for m in rows if m.engine == e}) for e in engines}
    # an engine measured on several GPUs: a burst factor per GPU (as a logit) instead of one
    several = {e for e in engines if len(gpus_of[e]) >= 2}
    per_gpu = [(e, g) for e in sorted(several) for g in gpus_of[e]]
    # a factor no row can inform stays at its prior (ParamSpec.start) instead of drifting where the
    # optimiser's scaling takes a direction the residuals do not see (a dense-only fit had put the
    # MoE efficiencies at 0.10 and 0.06, near their lower bounds)
    def informed(p: str, rs: list[Measurement]) -> bool:
        return any(INFORMED_BY.get(p, lambda *_: True)(m, catalog.models[m.model]) for m in rs)

    shared = [p for p in SHARED if informed(p, rows)]
    fixed = {p: SPEC[p].start for p in SHARED if p not in shared}
    own_fixed = {e: {p: SPEC[p].start for p in OWN if not informed(p, [m for m in rows if m.engine == e])} for e in engines}
    kept = [*fixed, *(f"{e} {p}" for e in engines for p in own_fixed[e])]
    if kept:
        source = f"{source}; not fitted, no row informs them (prior kept): {', '.join(kept)}"
    names = shared + [f"{e}:{p}" for e in engines for p in OWN
                      if not (p == "burst_factor" and e in several) and p not in own_fixed[e]]
    base = [n.split(":")[-1] for n in names]
    burst0 = [_logit(start.burst_for(g) if start else SPEC["burst_factor"].start) for _, g in per_gpu]
    x0 = np.array([min(max(getattr(start, b) if start else SPEC[b].start, SPEC[b].lower + 1e-6), SPEC[b].upper - 1e-6) / sc[b]
                   for b in base] + burst0)
    lb = np.array([SPEC[b].lower / sc[b] for b in base] + [-BURST_LOGIT_BOUND] * len(per_gpu))
    ub = np.array([SPEC[b].upper / sc[b] for b in base] + [BURST_LOGIT_BOUND] * len(per_gpu))
    by_engine = {e: [m for m in rows if m.engine == e] for e in engines}
    prepared = {m: prepare_measurement(catalog, m) for m in rows}  # evaluated ~200 times with other factors
    n_own = len(names)

    def gpu_logits(z: np.ndarray, e: str) -> dict[str, float]:
        return {g: float(z[n_own + j]) for j, (eng, g) in enumerate(per_gpu) if eng == e}

    def factors_for(z: np.ndarray, e: str) -> PerfFactors:
        vals = fixed | own_fixed[e] | {b: float(v) * sc[b] for b, v in zip(base[:len(shared)], z[:len(shared)], strict=True)}
        for i, name in enumerate(names[len(shared):], start=len(shared)):
            eng, p = name.split(":")
            if eng == e:
                vals[p] = float(z[i]) * sc[p]
        logits = gpu_logits(z, e)
        if logits:  # the engine's own: the typical GPU's (mean logit), for the class's other GPUs
            vals["burst_factor"] = _logistic(sum(logits.values()) / len(logits))
        return make_factors(e, gpu_class, [vals[p] for p in PARAMS], source=source,
                            burst_by_gpu={g: _logistic(v) for g, v in logits.items()})

    def res(z: np.ndarray) -> np.ndarray:
        out: list[float] = []
        for e, rs in by_engine.items():
            a, b = residuals(catalog, rs, factors_for(z, e), prepared)
            out += a + b
            logits = gpu_logits(z, e)
            if logits:  # the prior: each GPU's logit about the engine's mean
                mean = sum(logits.values()) / len(logits)
                out += [(v - mean) / GPU_BURST_PRIOR_SIGMA for v in logits.values()]
        return np.array(out) if out else np.zeros(1)

    sol = least_squares(res, x0, bounds=(lb, ub), method="trf", loss="soft_l1", f_scale=0.3, x_scale="jac", max_nfev=200)
    out = {}
    for e, rs in by_engine.items():
        f = factors_for(sol.x, e)
        a, b = residuals(catalog, rs, f, prepared)
        out[e] = make_factors(e, gpu_class, [round(getattr(f, p), 5) for p in PARAMS], band(a), band(b), len(rs), source,
                              {g: round(v, 5) for g, v in f.burst_factor_by_gpu.items()},
                              sorted({m.gpu for m in rows}),  # the hardware efficiencies are shared by every row's GPU
                              len({m.model for m in rs}))
    return out
