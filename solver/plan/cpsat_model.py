"""The CP-SAT model: choose one replica shape and one replica count among precomputed candidates.

Formulation (all metrics precomputed per option in Python, scaled to integers, solver.plan.scaling):

    shapes k (server SKU -> GPU type & interconnect, engine, TP, PP), options i = (k, replica count r_i)
    y_k in {0,1}          shape k is chosen                       sum_k y_k = 1
                          (so y fixes the GPU type, server SKU, interconnect and engine; no constraint
                          reads them apart, so they get no variables of their own: channelling
                          gpu[g] = sum_{k: gpu g} y_k & co. made each solve ~20% slower, measured)
    z_i in {0,1}          option i is chosen                      sum_{i in k} z_i = y_k
    R in Z>=0             replicas                                R = sum_i r_i z_i
    S in Z>=0             servers used                            S = sum_i servers_i z_i
                          packaging, exact per option: servers_i = ceil(r_i / rps_k) when rps_k replicas
                          share a server, s_k r_i when a replica takes s_k whole servers

    families (solver.plan.families), each enforced by its literal l_f:
      precision support, engine features, multi-server:    sum_{k bad} y_k = 0
      VRAM fit:        sum_i (kv_need_i - kv_pool_i) z_i <= 0              (MiB)
      users served:    sum_i capacity_i z_i >= peak users
      service targets: sum_i tpot_i z_i <= max, sum_i ttft_i z_i <= max,
                       sum_i per_user_i z_i >= min, sum_i tput_i z_i >= min
      price known, budget:  sum_i price_k(i) servers_i z_i <= budget
      allowed hardware: sum_{k not allowed} y_k = 0;  max servers: S <= N;
      stock: sum_i max(0, servers_i - stock_k(i)) z_i <= 0

    objectives: cost = sum_i price_k(i) servers_i z_i (per hour; x730 per month) or sum_i cpm_i z_i (per
    million tokens); throughput = sum_i tput_i z_i (maximised); latency = sum_i tpot_i z_i (or ttft).

The exact Pareto front comes from solver.plan.pareto (weighted sum with dominance cuts).
"""

from __future__ import annotations

from typing import Any

from solver.plan.families import FAMILIES, cost_int, tpot_int, tput_int, ttft_int
from solver.plan.options import Option, Shape
from solver.plan.variables import PlanVars
from solver.schema.scenario import Scenario


def objective_values(o: Option, sc: Scenario) -> dict[str, int]:
    """The integer objective values of an option (minimisation form uses -throughput).

    An unknown cost counts 0: such options are forbidden whenever cost is an objective or a
    tie-breaker (the price_known family), so the value never decides a front."""
    lat = tpot_int(o) if sc.latency_metric == "tpot" else ttft_int(o)
    c = cost_int(o, sc.cost_unit)
    return {"cost": c if c is not None else 0, "throughput": tput_int(o), "latency": lat}


class PlanModel:
    def __init__(self, shapes: list[Shape], options: list[Option], sc: Scenario, explain: bool = False):
        from ortools.sat.python import cp_model

        self.sc = sc
        self.cp = cp_model
        m = cp_model.CpModel()
        by_shape: dict[int, list[int]] = {}
        index = {id(s): k for k, s in enumerate(shapes)}
        for i, o in enumerate(options):
            by_shape.setdefault(index[id(o.shape)], []).append(i)
        y = [m.NewBoolVar(f"y{k}") for k in range(len(shapes))]
        z = [m.NewBoolVar(f"z{i}") for i in range(len(options))]
        W = cp_model.LinearExpr.WeightedSum
        for k in range(len(shapes)):
            idx = by_shape.get(k, [])
            m.Add(sum(z[i] for i in idx) == y[k])
        # replicas and servers used; the packaging arithmetic (whole servers of 1/2/4/8/16 GPUs, several
        # replicas per server, or whole servers per replica) is exact per option: r_i and servers_i
        R = m.NewIntVar(0, max((o.replicas for o in options), default=0), "replicas")
        S = m.NewIntVar(0, max((o.servers for o in options), default=0), "servers")
        m.Add(W(z, [o.replicas for o in options]) == R)
        m.Add(W(z, [o.servers for o in options]) == S)
        m.AddExactlyOne(y)
        v = PlanVars(m, cp_model, shapes, options, y, z, R, S)
        for f in FAMILIES:
            if not f.active(sc):
                continue
            v.active.add(f.name)
            lit = None
            if explain:  # literals to name conflicting families (tests cross-check the encodings); plain constraints solve faster
                lit = v.lits[f.name] = m.NewBoolVar(f"family:{f.name}")
            f.add(v, sc, lit)
        if explain:
            m.AddAssumptions(list(v.lits.values()))
        self.v = v
        self.model = m
        self.expr = self._objectives()

    def _objectives(self) -> dict[str, Any]:
        """The objective expressions; `self.values` keeps each option's integer values (read by the
        Pareto loop's cuts)."""
        v = self.v
        W = self.cp.LinearExpr.WeightedSum
        self.values = [objective_values(o, self.sc) for o in v.options]
        return {"cost": W(v.z, [x["cost"] for x in self.values]),
                "throughput": W(v.z, [x["throughput"] for x in self.values]),
                "latency": W(v.z, [x["latency"] for x in self.values])}

    def solver(self):
        s = self.cp.CpSolver()
        s.parameters.num_workers = 1
        s.parameters.random_seed = 0
        s.parameters.max_time_in_seconds = 60.0
        # the models are small one-hot choices after the exact dominance reduction: symmetry detection
        # costs more than it saves.  Presolve pays (ortools 9.15, the solves of 400 generated batch rows:
        # 3.15-3.30 s without it, 2.85 s with it, same outputs)
        s.parameters.symmetry_level = 0
        return s

    def chosen(self, solver) -> int:
        for i, zi in enumerate(self.v.z):
            if solver.BooleanValue(zi):
                return i
        raise RuntimeError("no option chosen in a feasible solution")
