"""Golden scenarios (tests/plan/scenarios/*.yaml): expected objective values, or the expected infeasibility."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from solver.plan.planner import solve
from solver.schema.scenario import Scenario

FILES = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden(path, catalog):
    doc = yaml.safe_load(path.read_text())
    plan = solve(Scenario(**doc["scenario"], full_front=True), catalog)  # the whole front: exactness is what is pinned
    exp = doc["expect"]
    assert plan.status == exp["status"]
    if exp["status"] == "infeasible":
        text = " ".join(plan.explanation["suggestions"] + plan.explanation["reasons"] + [plan.explanation["message"]])
        assert exp["reason_contains"] in text
        return
    keys = ("cost_per_hour", "output_tokens_per_s", "tpot_ms")
    assert len(plan.front) == len(exp["front"])
    for c, e in zip(plan.front, exp["front"], strict=True):
        assert [c[k] for k in keys] == pytest.approx([e[k] for k in keys], rel=1e-6), e["config"]


def test_guide_example_fits_two_h100_under_the_guides_rule(catalog):
    doc = yaml.safe_load((Path(__file__).parent / "scenarios" / "guide-llama33-70b-128k-fp8.yaml").read_text())
    plan = solve(Scenario(**doc["scenario"]), catalog)
    cheapest = plan.front[0]
    assert cheapest["gpus"] == 2 and cheapest["gpu"] == "h100-sxm-80gb"  # 132.5 GB over 2 x 80 GB
