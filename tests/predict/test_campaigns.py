"""The campaign diagnostic (benchmarks/campaigns.py): where a measured TTFT lies between spread-out and waves."""

from __future__ import annotations

import pytest

from benchmarks.campaigns import implied_burst, with_burst
from solver.predict.calibration import Measurement, predict_measurement
from solver.schema.precision import Precision as P


def _row(engine: str, users: int, ttft_ms: float) -> Measurement:
    """Qwen3-32B FP8 on 2 H100, prompts of 2,048 tokens and answers of 256: prefill waits matter."""
    return Measurement("qwen3-32b", "h100-sxm-80gb", engine, P.fp8, P.fp8, 2, 1, users, 2048, 256, ttft_ms, 30.0, "x")


@pytest.mark.parametrize("engine", ["sglang", "vllm", "tensorrt-llm"])
@pytest.mark.parametrize("users", [8, 128])
def test_the_implied_wave_share_places_a_ttft_between_spread_out_and_waves(catalog, engine, users):
    f = catalog.calibration[f"{engine}@nvidia_hopper"]
    lo, hi, _ = implied_burst(catalog, _row(engine, users, 1000.0), f)
    assert hi > 1.5 * lo  # the others' prefills in a wave against a short M/D/1 queue
    assert implied_burst(catalog, _row(engine, users, lo), f)[2] == pytest.approx(0.0, abs=1e-9)
    assert implied_burst(catalog, _row(engine, users, hi), f)[2] == pytest.approx(1.0, abs=1e-9)
    planted = [implied_burst(catalog, _row(engine, users, predict_measurement(catalog, _row(engine, users, 0), with_burst(f, b))[0]), f)[2]
               for b in (0.2, 0.5, 0.8)]
    assert planted == pytest.approx([0.2, 0.5, 0.8], abs=0.01)  # a planted share comes back
    assert implied_burst(catalog, _row(engine, users, lo / 2), f)[2] < 0  # shorter than even spread out: below 0
