"""Error bands: the range of ln(measured/predicted) a prediction's error falls in, from residuals of
models left out of the fit (leave-one-model-out) or, with one model measured, from the fit's own."""

from __future__ import annotations

import math

from solver.predict.calibration.measurements import Measurement, residuals
from solver.schema.calibration import PerfFactors
from solver.schema.catalog import Catalog


def quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if not s:
        return 0.0
    pos = q * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def band(xs: list[float]) -> tuple[float, float]:
    """The shipped band of ln(measured/predicted): +-the 90th percentile of |residual| (nominal 90%).

    Symmetric on purpose: the residuals come from a few held-out models, each off by its own offset,
    and the side those models fell on does not carry over to the next one.  On the calibration data
    (leave-one-model-out, nested, 1,276 rows) the 5th-95th percentile band covered 78.6%
    of held-out TPOTs and 87.1% of TTFTs; this one, of about the same median width, 85.2% and 89.2%
    (docs/model.md)."""
    half = round(quantile([abs(x) for x in xs], 0.9), 4)
    return -half, half


def held_out_residuals(catalog: Catalog, rows: list[Measurement], fit_rows) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """Per engine, per model: ln(measured/predicted) TPOT and TTFT of the model's rows predicted by
    `fit_rows` of every other model's rows (leave-one-model-out); empty with fewer than two models."""
    models = sorted({m.model for m in rows})
    out: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    if len(models) < 2:
        return out
    for mid in models:
        for engine, f in fit_rows([m for m in rows if m.model != mid]).items():
            tpot, ttft = residuals(catalog, [m for m in rows if m.model == mid and m.engine == engine], f)
            if tpot:
                out.setdefault(engine, {})[mid] = (tpot, ttft)
    return out


def cross_validated_bands(catalog: Catalog, rows: list[Measurement], fit_rows) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """Per engine, the `band` of ln(measured/predicted) TPOT and TTFT for models left out of the fit
    (held_out_residuals, pooled over the models).

    The band is meant for a configuration of a model the fit may never have seen; a fit's residuals
    on its own rows understate that error (each model's systematic offset is partly fitted away).
    Engines measured on fewer than two models keep the in-sample band of their fit."""
    return {e: (band([x for tpot, _ in by_model.values() for x in tpot]), band([x for _, ttft in by_model.values() for x in ttft]))
            for e, by_model in sorted(held_out_residuals(catalog, rows, fit_rows).items()) if len(by_model) >= 2}


def with_bands(fits: dict[str, PerfFactors], bands: dict) -> dict[str, PerfFactors]:
    """The fits with the (TPOT, TTFT) bands given for their engine; the others keep their own."""
    return {e: f.model_copy(update={"tpot_log_band": bands[e][0], "ttft_log_band": bands[e][1]}) if e in bands else f
            for e, f in fits.items()}
