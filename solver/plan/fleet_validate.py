"""Re-check a fleet answer without the solver (no ortools): every fleet family's Python rule, each pool
rebuilt from its identity and judged by the single-deployment families at the load it carries, the
replicas placed on real servers, and the cost recomputed from the catalog's prices.
"""

from __future__ import annotations

import math

from solver.plan.families import violations
from solver.plan.fleet_families import fleet_violations
from solver.plan.fleet_problem import FleetAnswer, FleetProblem
from solver.plan.scaling import COST_SCALE
from solver.plan.validate import rebuild
from solver.schema.catalog import Catalog
from solver.schema.pricing import price_in

#: families the fleet decides for all workloads together (fleet_families), not per pool
FLEET_LEVEL = {"budget", "max_servers", "stock", "price_known", "total_throughput"}


def validate_fleet(a: FleetAnswer, p: FleetProblem, catalog: Catalog) -> list[str]:
    """Problems with the answer (empty: it satisfies every rule)."""
    from solver.plan.fleet_assign import place

    problems = fleet_violations(a, p)
    for w, wl in enumerate(p.workloads):
        sc = wl.pools.scenario
        for pl in a.pools[w]:
            s = wl.shapes[pl.shape].shape
            sub = sc.model_copy(update={"users": pl.users, "load": "steady", "budget_per_hour": None, "max_servers": 100_000,
                                        "min_total_tokens_per_s": None})
            config = {"server": s.server.id, "gpu": s.gpu.id, "engine": s.engine.id, "tp": s.tp, "pp": s.pp, "ep": s.ep,
                      "replicas": pl.replicas, "kv_precision": s.kv_precision.value, "servers": s.servers_for(pl.replicas)}
            option, why = rebuild(config, sub, catalog, wl.pools.model)
            if option is None:
                problems += [f"{wl.id} on {s.key}: {x}" for x in why]
                continue
            problems += [f"{wl.id} on {s.key}: {x}" for x in why]
            problems += [f"{wl.id} on {s.key}: {name}: {x}" for name, x in violations(option, sub) if name not in FLEET_LEVEL]
    try:
        place(a, p)
    except AssertionError as e:
        problems.append(str(e))
    cost = 0.0
    for sid, n in a.new.items():
        price, _ = price_in(catalog.servers[sid], p.currency, catalog.pricing, catalog.exchange_rates)
        if price is None:
            problems.append(f"{sid}: {n} new servers without a {p.currency} price")
        else:
            cost += price * n
    cost += sum(p.skus[sid].owned_cost_per_hour * n for sid, n in a.owned_used.items())
    if not math.isclose(cost, a.cost_int(p) / COST_SCALE, rel_tol=1e-6, abs_tol=1e-3 * (1 + sum(a.new.values()) + sum(a.owned_used.values()))):
        problems.append(f"cost {a.cost_int(p) / COST_SCALE:.3f} but the catalog's prices give {cost:.3f}")
    return problems
