"""`plan_fleet(scenarios, catalog, inventory)`: one plan for a portfolio of workloads over one inventory.

Workloads -> pool shapes with capacities (solver.plan.pools) -> one CP-SAT model (solver.plan.fleet_model)
-> the answer read back, its pools evaluated at their real loads, replicas placed on numbered servers
(solver.plan.fleet_assign), every figure re-checked without the solver (solver.plan.fleet_validate).
Workloads that cannot be served are named with the reason; each workload's cost alone is solved too,
so the saving of planning them together is measured, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from solver.errors import GpuplanError
from solver.plan.fleet_assign import place, pool_rows, server_rows
from solver.plan.fleet_families import slot_demand
from solver.plan.fleet_model import SolveStats
from solver.plan.fleet_problem import FleetAnswer, FleetProblem, Workload, drop_dominated_skus, make_skus
from solver.plan.pools import workload_pools
from solver.plan.scaling import COST_SCALE, HOURS_PER_MONTH
from solver.schema.catalog import Catalog
from solver.schema.inventory import Inventory
from solver.schema.scenario import Scenario


@dataclass
class FleetPlan:
    status: str  # ok (all served) | partial (some workloads not served) | infeasible (none)
    currency: str
    mode: str  # rent | buy (the catalog's pricing policy)
    cost_per_hour: float
    servers: list[dict]  # the buy/rent list, one row per SKU
    instances: list[dict]  # each server with the replicas placed on it
    workloads: list[dict]  # per workload: status, pools, cost alone and in the fleet
    front: list[dict]  # (cost, users served) points, most served first
    stats: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"status": self.status, "currency": self.currency, "mode": self.mode,
                "cost_per_hour": round(self.cost_per_hour, 4), "cost_per_month": round(self.cost_per_hour * HOURS_PER_MONTH, 2),
                "servers": self.servers, "workloads": self.workloads, "instances": self.instances, "front": self.front,
                "warnings": self.warnings, "stats": {k: v for k, v in self.stats.items() if not k.endswith("_s")}}


def build_problem(scenarios: list[tuple[str, Scenario]], catalog: Catalog, inventory: Inventory | None,
                  max_shapes: int, errors: dict[str, str]) -> FleetProblem:
    """The fleet problem; a workload whose scenario cannot be prepared goes to `errors` (id -> reason)."""
    from solver.plan.planner import prepare

    workloads = []
    currency = inventory.currency if inventory else None
    for wid, sc in scenarios:
        try:
            psc, model, _ = prepare(sc, catalog)
        except GpuplanError as e:
            errors[wid] = str(e).replace("\n", "; ")
            continue
        if currency is None:
            currency = psc.currency
        if psc.currency != currency:
            errors[wid] = f"currency {psc.currency}: the fleet is planned in {currency} (one currency per fleet)"
            continue
        workloads.append(Workload(len(workloads), wid, workload_pools(psc, catalog, model)))
    currency = currency or "EUR"
    convert = all(w.pools.scenario.convert_prices for w in workloads)
    return FleetProblem(workloads, make_skus(workloads, catalog, inventory, currency, convert), currency,
                        inventory.budget if inventory else None, inventory.power_limit_kw if inventory else None, max_shapes)


def _alone(p: FleetProblem, w: int, time_limit_s: float) -> float | None:
    """The workload's least cost rented on its own: one pool shape, nothing owned, no fleet budget or power
    limit, the same stock — what `solve --objective cost` answers (the fleet's saving is measured against it)."""
    from dataclasses import replace

    from solver.plan.fleet_model import FleetModel

    wl = p.workloads[w]
    skus = {s: replace(k, owned=0) for s, k in p.skus.items() if any(ps.shape.server.id == s for ps in wl.shapes)}
    if not skus:
        return None
    sub = FleetProblem([Workload(0, wl.id, wl.pools)], skus, p.currency, None, None, 1)
    ans, _ = FleetModel(sub).solve_point(time_limit_s=time_limit_s)
    return None if ans is None else ans.cost_int(sub) / COST_SCALE


def solve_problem(p: FleetProblem, front_points: int, time_limit_s: float, workers: int
                  ) -> tuple[list[tuple[FleetAnswer, SolveStats]], SolveStats]:
    """The front's points (answer, stats), most users served first; the first point's stats, with
    whether serving every workload was found, proven impossible or cut by the time limit."""
    from solver.plan.fleet_model import FleetModel

    p.dropped_skus = drop_dominated_skus(p)
    first, st = FleetModel(p, require_all=True).solve_point(time_limit_s=time_limit_s, workers=workers)
    all_status = st.status
    partial = None  # the most users served, then the least cost: built when the answer or the front needs it
    if first is None:  # proven impossible, or none found in time
        partial = FleetModel(p, require_all=False)
        first, st = partial.solve_point(time_limit_s=time_limit_s, workers=workers)
    st.all_served_status = all_status
    if first is None:
        return [], st
    points = [(first, st)]
    while len(points) < front_points:
        partial = partial or FleetModel(p, require_all=False)
        prev = points[-1][0].cost_int(p)
        if prev <= 0:
            break
        ans, s2 = partial.solve_point(max_cost_int=prev - 1, time_limit_s=time_limit_s, workers=workers)
        if ans is None:
            break
        points.append((ans, s2))
    return points, st


def plan_fleet(scenarios: list[tuple[str, Scenario]], catalog: Catalog, inventory: Inventory | None = None,
               max_shapes: int = 2, front_points: int = 4, time_limit_s: float = 60.0, workers: int = 1,
               validate: bool = True, alone: bool = True) -> FleetPlan:
    """Plan the portfolio `scenarios` ((id, Scenario) pairs, ids unique).

    max_shapes: distinct pool shapes a workload may use (1: no mixing); front_points: points of the
    (cost, users served) front; time_limit_s: CP-SAT deterministic time per solve (an answer at the
    limit reports its gap)."""
    import time

    t0 = time.perf_counter()
    errors: dict[str, str] = {}
    p = build_problem(scenarios, catalog, inventory, max_shapes, errors)
    t1 = time.perf_counter()
    points, st = solve_problem(p, front_points, time_limit_s, workers) if p.workloads else ([], None)
    t2 = time.perf_counter()
    mode = catalog.pricing.mode if catalog.pricing is not None else "rent"
    warnings = []
    if any(s.power_source == "gpus" for s in p.skus.values()) and p.power_limit_kw is not None:
        warnings.append("power: servers without a catalog draw count their GPUs' TDP only (a lower bound)")
    if st is not None and (st.all_served_status or "").startswith("time limit"):
        warnings.append("no answer serving every workload was found within --time-limit (it is not proven impossible): "
                        "the answer serves the most users found; a longer --time-limit may serve them all")
    best = points[0][0] if points else None
    if best is not None and validate:
        from solver.plan.fleet_validate import validate_fleet

        problems = validate_fleet(best, p, catalog)
        if problems:
            raise AssertionError(f"validator rejected the fleet answer: {problems}")
    cost = best.cost_int(p) / COST_SCALE if best else 0.0
    placed = place(best, p) if best else []
    demand = slot_demand(best, p) if best else {}
    workloads = []
    for wid, _ in scenarios:
        if wid in errors:
            workloads.append({"id": wid, "status": "error", "reason": errors[wid]})
    for w, wl in enumerate(p.workloads):
        row = {"id": wl.id, "users": wl.users, "status": "served" if best and best.served[w] else "not served"}
        a = _alone(p, w, time_limit_s) if alone or not (best and best.served[w]) else None
        if best and best.served[w]:
            row["pools"] = pool_rows(best, p, w, catalog, placed, demand)
            row["cost_share_per_hour"] = round(sum(x["cost_share_per_hour"] for x in row["pools"]), 4)
        else:
            row["reason"] = _unserved_reason(wl, catalog, a, p.max_shapes)
        if alone:
            row["cost_alone_per_hour"] = None if a is None else round(a, 4)
        workloads.append(row)
    order = {wid: i for i, (wid, _) in enumerate(scenarios)}
    workloads.sort(key=lambda r: order[r["id"]])
    front = [{"cost_per_hour": round(a.cost_int(p) / COST_SCALE, 4), "users_served": sum(wl.users for w, wl in enumerate(p.workloads) if a.served[w]),
              "users_total": sum(wl.users for wl in p.workloads),
              "not_served": [wl.id for w, wl in enumerate(p.workloads) if not a.served[w]],
              "proven_optimal": s.gap == 0.0} for a, s in points]
    served = sum(1 for r in workloads if r["status"] == "served")
    status = "ok" if best and served == len(workloads) else ("partial" if served else "infeasible")
    stats = {"workloads": len(scenarios), "pool_shapes": sum(len(w.shapes) for w in p.workloads),
             "dominated_shapes_dropped": sum(w.pools.dropped for w in p.workloads), "skus": len(p.skus), "dominated_skus_dropped": p.dropped_skus,
             "cpsat_status": st.status if st else "no workload", "gap": None if st is None or st.gap is None else round(st.gap, 6),
             "most_served_proven": st.served_proven if st else None,
             "serve_everyone": st.all_served_status if st else None, "variables": st.variables if st else 0, "constraints": st.constraints if st else 0,
             "prepare_s": round(t1 - t0, 3), "solve_s": round(t2 - t1, 3)}
    return FleetPlan(status, p.currency, mode, cost, server_rows(best, p, placed, mode) if best else [], placed, workloads,
                     front, stats, warnings)


def _unserved_reason(wl: Workload, catalog: Catalog, alone: float | None, max_shapes: int) -> str:
    if alone is not None:
        return (f"the inventory cannot hold it with the others (stock, owned servers, budget or power); alone it would "
                f"cost {alone:.2f}/h")
    if wl.shapes:
        return ("no configuration fits the stock: every pool shape it can run on needs more new servers than are "
                "in stock, or servers without a price" + ("; pools of several shapes (--max-shapes 2) may fit it" if max_shapes == 1 else ""))
    from solver.plan.planner import solve

    plan = solve(wl.pools.scenario.model_copy(update={"objectives": ["cost"]}), catalog, validate=False)
    if plan.status != "ok":
        return (plan.explanation or {}).get("message", "no configuration meets its targets")
    return "its only configurations need servers without a price in the fleet's currency"
