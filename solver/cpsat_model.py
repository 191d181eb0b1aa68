"""The CP-SAT model: choose one replica shape and one load level among precomputed candidates.

Formulation (all metrics precomputed per option in Python, scaled to integers, solver.scaling):

    shapes k (server SKU -> GPU type & interconnect, engine, TP, PP), options i = (k, load level j)
    y_k in {0,1}          shape k is chosen                       sum_k y_k = 1
    z_i in {0,1}          option i is chosen                      sum_{i in k} z_i = y_k
    R_k in Z>=0           replicas of shape k                     R_k = sum_{i in k} r_i z_i
    S_k in Z>=0           servers of shape k (packaging):
                            replica inside a server:  rps_k S_k >= R_k,  rps_k S_k <= R_k + rps_k - 1
                            replica over s servers:   S_k = s_k R_k
    channels              gpu[g] = sum_{k: gpu g} y_k, sku[s], interconnect[c], engine[e]

    families (solver.families), each enforced by its literal l_f:
      precision support, engine features, multi-server:    sum_{k bad} y_k = 0
      VRAM fit:        sum_i (kv_need_i - kv_pool_i) z_i <= 0              (MiB)
      users served:    sum_i capacity_i z_i >= peak users
      service targets: sum_i tpot_i z_i <= max, sum_i ttft_i z_i <= max,
                       sum_i per_user_i z_i >= min, sum_i tput_i z_i >= min
      price known, budget:  sum_k price_k S_k <= budget
      allowed hardware: sum_{k not allowed} y_k = 0;  max servers: sum_k S_k <= N;  stock: S_k <= stock_k

    objectives: cost = sum_k price_k S_k (per hour; x730 per month) or sum_i cpm_i z_i (per million
    tokens); throughput = sum_i tput_i z_i (maximised); latency = sum_i tpot_i z_i (or ttft).

The exact Pareto front comes from solver.pareto (weighted sum with dominance cuts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solver.candidates import Option, Shape
from solver.families import FAMILIES, cost_int, price_int, tpot_int, tput_int, ttft_int
from solver.scaling import HOURS_PER_MONTH
from solver.schema.scenario import Scenario


@dataclass
class PlanVars:
    model: Any
    model_cls: Any  # the cp_model module (LinearExpr & co.), so families need not import ortools
    shapes: list[Shape]
    options: list[Option]
    y: list[Any]
    z: list[Any]
    R: list[Any]
    S: list[Any]
    lits: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)


def objective_values(o: Option, sc: Scenario) -> dict[str, int]:
    """The integer objective values of an option (minimisation form uses -throughput)."""
    lat = tpot_int(o) if sc.latency_metric == "tpot" else ttft_int(o)
    c = cost_int(o, sc.cost_unit)
    return {"cost": c if c is not None else -1, "throughput": tput_int(o), "latency": lat}


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
        R, S = [], []
        for k, s in enumerate(shapes):
            idx = by_shape.get(k, [])
            rmax = max((options[i].replicas for i in idx), default=0)
            smax = max((options[i].servers for i in idx), default=0)
            R.append(m.NewIntVar(0, rmax, f"R{k}"))
            S.append(m.NewIntVar(0, smax, f"S{k}"))
            m.Add(sum(z[i] for i in idx) == y[k])
            m.Add(R[k] == sum(options[i].replicas * z[i] for i in idx))
            if s.spans_servers:
                m.Add(S[k] == s.servers_per_replica * R[k])
            else:
                m.Add(s.replicas_per_server * S[k] >= R[k])
                m.Add(s.replicas_per_server * S[k] <= R[k] + s.replicas_per_server - 1)
        m.AddExactlyOne(y)
        v = PlanVars(m, cp_model, shapes, options, y, z, R, S)
        for attr, key in (("gpu", lambda s: s.gpu.id), ("sku", lambda s: s.server.id),
                          ("interconnect", lambda s: s.interconnect), ("engine", lambda s: s.engine.id)):
            groups: dict[str, list[int]] = {}
            for k, s in enumerate(shapes):
                groups.setdefault(key(s), []).append(k)
            chan = {}
            for name, ks in sorted(groups.items()):
                b = m.NewBoolVar(f"{attr}:{name}")
                m.Add(b == sum(y[k] for k in ks))
                chan[name] = b
            v.channels[attr] = chan
        for f in FAMILIES:
            if not f.active(sc):
                continue
            lit = m.NewBoolVar(f"family:{f.name}")
            v.lits[f.name] = lit
            f.add(v, sc, lit)
            if not explain:
                m.Add(lit == 1)
        if explain:
            m.AddAssumptions(list(v.lits.values()))
        self.v = v
        self.model = m
        self.expr = self._objectives()

    def _objectives(self) -> dict[str, Any]:
        v, sc = self.v, self.sc
        if sc.cost_unit == "per_million_tokens":
            cost = self.cp.LinearExpr.WeightedSum(v.z, [cost_int(o, sc.cost_unit) or 0 for o in v.options])
        else:
            mult = HOURS_PER_MONTH if sc.cost_unit == "per_month" else 1
            cost = sum((price_int(s) or 0) * mult * v.S[k] for k, s in enumerate(v.shapes))
        W = self.cp.LinearExpr.WeightedSum
        tput = W(v.z, [tput_int(o) for o in v.options])
        lat_f = tpot_int if sc.latency_metric == "tpot" else ttft_int
        lat = W(v.z, [lat_f(o) for o in v.options])
        return {"cost": cost, "throughput": tput, "latency": lat}

    def solver(self):
        s = self.cp.CpSolver()
        s.parameters.num_workers = 1
        s.parameters.random_seed = 0
        s.parameters.max_time_in_seconds = 60.0
        return s

    def chosen(self, solver) -> int:
        for i, zi in enumerate(self.v.z):
            if solver.BooleanValue(zi):
                return i
        raise RuntimeError("no option chosen in a feasible solution")
