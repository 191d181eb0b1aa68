"""`solve --mix`: one workload's users split across pools of different shapes (GPU type, server, engine,
layout), every pool meeting the targets — the fleet model with one workload (solver.plan.fleet_model).

The front is over (cost, latency): latency is the worst pool's (its busiest replica's TPOT, or TTFT
with latency_metric ttft).  Traced by epsilon constraints: the cheapest mix at the scenario's targets,
then the cheapest whose worst latency is below the previous point's, and so on; capacities are
recomputed for each tighter target (solver.plan.pools.retarget).  A point whose cost equals the next
one's is dominated by it and dropped, so every point shown is Pareto-optimal and none is missing
between two consecutive points (up to the number asked for).
"""

from __future__ import annotations

from solver.plan.fleet_assign import pool_rows
from solver.plan.fleet_problem import FleetProblem, Workload, drop_dominated_skus, make_skus
from solver.plan.pools import WorkloadPools, retarget, workload_pools
from solver.plan.scaling import COST_SCALE, HOURS_PER_MONTH
from solver.schema.catalog import Catalog
from solver.schema.scenario import Scenario

LATENCY_STEP_MS = 0.001  # the next point must be better by at least the model's latency resolution (1 us)


def _point(wp: WorkloadPools, catalog: Catalog, max_shapes: int, sc: Scenario, time_limit_s: float) -> dict | None:
    from solver.plan.fleet_model import FleetModel

    wl = Workload(0, sc.id or "workload", wp)
    p = FleetProblem([wl], make_skus([wl], catalog, None, sc.currency, sc.convert_prices), sc.currency, sc.budget_per_hour,
                     None, max_shapes)
    drop_dominated_skus(p)
    ans, stats = FleetModel(p).solve_point(time_limit_s=time_limit_s)
    if ans is None:
        return None
    from solver.plan.fleet_validate import validate_fleet

    problems = validate_fleet(ans, p, catalog)
    if problems:
        raise AssertionError(f"validator rejected a mixed answer: {problems}")
    pools = pool_rows(ans, p, 0, catalog, [])
    for x in pools:
        x.pop("on")
    cost = ans.cost_int(p) / COST_SCALE
    return {"cost_per_hour": round(cost, 4), "cost_per_month": round(cost * HOURS_PER_MONTH, 2),
            "tpot_ms": max(x["tpot_ms"] for x in pools), "ttft_ms": max(x["ttft_ms"] for x in pools),
            "output_tokens_per_s": round(sum(x["output_tokens_per_s"] for x in pools), 2),
            "output_tokens_per_s_per_user": min(x["output_tokens_per_s_per_user"] for x in pools),
            "gpus": sum(x["gpus_per_replica"] * x["replicas"] for x in pools),
            "servers": {s: ans.servers(s) for s in p.skus if ans.servers(s)}, "pools": pools,
            "mixed": len(pools) > 1, "proven_optimal": stats.gap == 0.0}


def solve_mix(scenario: Scenario, catalog: Catalog, max_shapes: int = 2, points: int = 8, time_limit_s: float = 60.0) -> dict:
    """The (cost, latency) front of deployments mixing up to `max_shapes` pool shapes; `points` at most."""
    from solver.plan.planner import prepare

    sc, model, _ = prepare(scenario, catalog)
    sized = wp = workload_pools(sc, catalog, model)
    metric = "ttft_ms" if sc.latency_metric == "ttft" else "tpot_ms"
    field = "max_ttft_ms" if metric == "ttft_ms" else "max_tpot_ms"
    front: list[dict] = []
    current = sc
    while len(front) < points:
        pt = _point(wp, catalog, max_shapes, current, time_limit_s)
        if pt is None:
            break
        if front and pt["cost_per_hour"] <= front[-1]["cost_per_hour"]:
            front.pop()  # same cost, lower latency: the previous point is dominated
        front.append(pt)
        limit = pt[metric] - LATENCY_STEP_MS
        if limit <= 0:
            break
        current = current.model_copy(update={field: limit})
        wp = retarget(wp, current, catalog)
    # the cheapest single shape: the same model with one pool shape (what `solve --objective cost` answers,
    # tests/plan/test_fleet.py), on the pools already sized
    one = _point(sized, catalog, 1, sc, time_limit_s) if max_shapes > 1 else (front[0] if front else None)
    alone = None if one is None else one["cost_per_hour"]
    for pt in front:
        pt["saving_vs_one_shape_pct"] = None if not alone else round(100 * (1 - pt["cost_per_hour"] / alone), 2)
    return {"status": "ok" if front else "infeasible", "scenario": sc.model_dump(mode="json", exclude_none=True),
            "currency": sc.currency, "latency_metric": sc.latency_metric, "max_shapes": max_shapes,
            "one_shape_cost_per_hour": alone, "front": front,
            "explanation": None if front else _why_not(sc, catalog)}


def _why_not(sc: Scenario, catalog: Catalog) -> dict:
    """Why nothing fits: no mix does, so no single shape does either; the single deployment's explanation."""
    from solver.plan.planner import solve

    plan = solve(sc.model_copy(update={"objectives": ["cost"]}), catalog)
    return plan.explanation or {"message": "no mix meets the targets"}
