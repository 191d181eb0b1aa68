"""The test oracle: every option checked with the families' Python rules, then a plain Pareto filter.

No ortools.  `front_vectors` must equal the CP-SAT front's objective vectors (ties are legitimate,
so configurations are compared by objective values, never by identity).
"""

from __future__ import annotations

from solver.plan.cpsat_model import objective_values
from solver.plan.families import violations
from solver.plan.options import Option
from solver.plan.pareto import SENSE
from solver.schema.scenario import Scenario


def feasible(options: list[Option], sc: Scenario) -> list[Option]:
    return [o for o in options if not violations(o, sc)]


def vector(o: Option, sc: Scenario, objectives: list[str]) -> tuple[int, ...]:
    vals = objective_values(o, sc)
    return tuple(SENSE[k] * vals[k] for k in objectives)


def front_vectors(options: list[Option], sc: Scenario) -> set[tuple[int, ...]]:
    """Non-dominated objective vectors (minimisation form) among the feasible options."""
    objectives = list(sc.objectives)
    vecs = {vector(o, sc, objectives) for o in feasible(options, sc)}
    if not vecs:
        return set()
    if len(objectives) == 1:
        # lexicographic like the solver: the objective, then the others as tie-breakers
        order = objectives + [k for k in ("cost", "throughput", "latency") if k not in objectives]
        if "cost" not in objectives and sc.budget_per_hour is None:
            order.remove("cost")
        best = min(feasible(options, sc), key=lambda o: vector(o, sc, order))
        return {vector(best, sc, objectives)}
    return {v for v in vecs if not any(dominates(w, v) for w in vecs)}


def dominates(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b
