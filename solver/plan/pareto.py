"""Exact Pareto fronts over 1-3 objectives: weighted sum with dominance cuts.

Loop: minimise a strictly increasing function of the objectives (cost, -throughput, latency) —
lexicographic weights in the order the user listed them when they fit in int64, else a plain sum;
record the optimum; cut every option it weakly dominates (no better in any objective), so the next
optimum must be strictly better than every recorded one in at least one objective; repeat until
CP-SAT proves the rest infeasible or no option is left.  Each optimum is Pareto-optimal (anything
dominating it would have survived every cut and scored lower), and every non-dominated objective
vector is eventually found, so the loop returns the exact front, one configuration per objective
vector.  Exactly one option is chosen, so "strictly better than P in some objective" is the same as
"not one of the options P weakly dominates": the cut fixes those options' literals to false, which
CP-SAT propagates at no cost, instead of a disjunction of linear constraints over every option.
With two objectives and lexicographic weights this is the ε-constraint method.  Single objectives
are lexicographic: the objective, then the others as tie-breakers.
"""

from __future__ import annotations

from solver.plan.cpsat_model import PlanModel

SENSE = {"cost": 1, "throughput": -1, "latency": 1}  # minimisation form

#: CP-SAT needs every linear expression's extreme values to fit in int64; keep a wide margin
INT_LIMIT = 2**60


def _status_ok(pm: PlanModel, status) -> bool:
    return status in (pm.cp.OPTIMAL, pm.cp.FEASIBLE)


def _weights(vals: list[list[int]]) -> list[int]:
    """Lexicographic weights (each objective outweighs any difference in the later ones) when the
    objective's coefficients stay within INT_LIMIT, else all 1."""
    k = len(vals[0])
    weights = [1] * k
    for j in range(k - 2, -1, -1):
        col = [v[j + 1] for v in vals]
        weights[j] = weights[j + 1] * (max(col) - min(col) + 1)
    if sum(abs(sum(w * x for w, x in zip(weights, v, strict=True))) for v in vals) >= INT_LIMIT:
        return [1] * k
    return weights


def exact_front(pm: PlanModel, objectives: list[str], stop=None) -> list[int]:
    """Option indices of the exact front (CP-SAT, one worker), in the order found (the first objective
    ascending).  `stop(found)`, called with the indices found so far, ends the loop early when it
    returns True (the front shown by default needs only its head: solver.plan.recommend)."""
    if len(objectives) == 1:
        return _lexicographic(pm, objectives)
    m, expr, z = pm.model, pm.expr, pm.v.z
    vals = [[SENSE[k] * ov[k] for k in objectives] for ov in pm.values]
    weights = _weights(vals)
    ascending = weights[0] > 1 or len(weights) == 1  # lexicographic: optima come in ascending first objective
    m.Minimize(sum(w * SENSE[k] * expr[k] for w, k in zip(weights, objectives, strict=True)))
    front: list[int] = []
    left = set(range(len(vals)))  # options no recorded optimum weakly dominates
    while left:
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
        p = vals[i]
        cut = sorted(j for j in left if all(x >= y for x, y in zip(vals[j], p, strict=True)))
        m.AddBoolAnd([z[j].Not() for j in cut])
        left.difference_update(cut)
        if stop is not None and ascending and stop(front):
            break
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
