"""Measurements in, fitted efficiency factors out (`gpuplan calibrate`).

- `measurements`: reading benchmark CSVs (gpuplan's columns or aiconfigurator's), the physical
  plausibility checks that drop rows whose stated load never ran, and the model's prediction per row;
- `fitting`: the least-squares fit of the speed model's factors (solver.schema.calibration.PerfFactors);
- `bands`: error bands from residuals of models left out of the fit;
- `overlay`: every (engine, GPU class) fitted, the wildcard fallbacks, and the overlay YAML.
"""

from solver.predict.calibration.bands import (
    band,
    cross_validated_bands,
    held_out_residuals,
    quantile,
    with_bands,
)
from solver.predict.calibration.fitting import OWN, PARAMS, SHARED, SPEC, fit, fit_joint, make_factors
from solver.predict.calibration.measurements import (
    Measurement,
    predict_measurement,
    prepare_measurement,
    read_measurements,
    residuals,
    tpot_floor_ms,
    ttft_ceiling_ms,
)
from solver.predict.calibration.overlay import fit_all, fit_class, overlay_yaml, unmeasured_engine

__all__ = [
    "OWN", "PARAMS", "SHARED", "SPEC", "Measurement", "band", "cross_validated_bands", "fit", "fit_all", "fit_class",
    "fit_joint", "held_out_residuals", "make_factors", "overlay_yaml", "predict_measurement", "prepare_measurement",
    "quantile", "read_measurements", "residuals", "tpot_floor_ms", "ttft_ceiling_ms", "unmeasured_engine", "with_bands",
]
