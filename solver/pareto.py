"""Exact Pareto fronts over 1-3 objectives: weighted sum with dominance cuts.

Loop: minimise a strictly increasing function of the objectives (cost, -throughput, latency);
record the optimum; add the cut "strictly better than it in at least one objective"; repeat until
infeasible.  Each optimum is Pareto-optimal (anything dominating it would have passed every cut and
scored lower), and every non-dominated objective vector is eventually found, so the loop returns the
exact front, one configuration per objective vector.  Single objectives are lexicographic:
the objective, then the others as tie-breakers.
"""

from __future__ import annotations

from solver.cpsat_model import PlanModel

SENSE = {"cost": 1, "throughput": -1, "latency": 1}  # minimisation form


def _status_ok(pm: PlanModel, status) -> bool:
    return status in (pm.cp.OPTIMAL, pm.cp.FEASIBLE)


def exact_front(pm: PlanModel, objectives: list[str]) -> list[int]:
    """Option indices of the exact front (CP-SAT, one worker)."""
    m, expr = pm.model, pm.expr
    if len(objectives) == 1:
        return _lexicographic(pm, objectives)
    front: list[int] = []
    m.Minimize(sum(SENSE[o] * expr[o] for o in objectives))
    while True:
        solver = pm.solver()
        status = solver.Solve(m)
        if not _status_ok(pm, status):
            if status != pm.cp.INFEASIBLE:
                raise RuntimeError(f"CP-SAT stopped with status {solver.StatusName(status)}")
            break
        if status != pm.cp.OPTIMAL:
            raise RuntimeError("CP-SAT did not prove optimality within its time limit")
        i = pm.chosen(solver)
        front.append(i)
        vals = {o: solver.Value(expr[o]) for o in objectives}
        better = []
        for o in objectives:
            b = m.NewBoolVar(f"better_{o}_{len(front)}")
            if SENSE[o] > 0:
                m.Add(expr[o] <= vals[o] - 1).OnlyEnforceIf(b)
            else:
                m.Add(expr[o] >= vals[o] + 1).OnlyEnforceIf(b)
            better.append(b)
        m.AddBoolOr(better)
    return front


def _lexicographic(pm: PlanModel, objectives: list[str]) -> list[int]:
    m, expr = pm.model, pm.expr
    order = objectives + [o for o in ("cost", "throughput", "latency") if o not in objectives and o in expr]
    if "cost" not in objectives and "price_known" not in pm.v.active:
        order.remove("cost")  # unpriced options would count as free: not a meaningful tie-breaker
    chosen = None
    for o in order:
        m.Minimize(SENSE[o] * expr[o])
        solver = pm.solver()
        status = solver.Solve(m)
        if not _status_ok(pm, status):
            return [] if chosen is None else [chosen]
        best = solver.Value(expr[o])
        chosen = pm.chosen(solver)
        m.Add(expr[o] == best)
    return [chosen] if chosen is not None else []
