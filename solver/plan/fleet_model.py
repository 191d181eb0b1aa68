"""The fleet's CP-SAT model: integer replicas per pool shape, users per pool, servers per SKU.

Formulation (symbols as in solver.plan.fleet_families, which holds one constraint family per class):

    r_wk in Z>=0, x_wk in Z>=0, u_wk in {0,1}    replicas, users and use of pool shape k of workload w
    v_w in {0,1}                                 workload w served (fixed to 1 when all must be)
    o_s in [0, O_s], n_s in Z>=0                 owned servers used and new servers of SKU s
    cost = sum_s p_s n_s + q_s o_s               (per hour, thousandths of the currency)

    coverage, shape limit, packing, holdings, budget, power, each workload's max_servers, budget and
    total-throughput target: solver.plan.fleet_families.

Objectives, lexicographic: the most users served (sum_w U_w v_w), then the least cost.  The front over
(cost, users served) is traced by epsilon constraints: each next point serves the most users at a cost
below the previous point's, then at the least cost for that (solve_front).

Metrics that are not linear in the counts (each pool's throughput and latency at its real load) are
evaluated in Python on the answer (solver.plan.pools.evaluate_pool); the model needs only capacities,
which are exact (solver.plan.pools).  ortools is imported here, lazily by callers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solver.plan.fleet_families import FLEET_FAMILIES, replica_cap, split_users
from solver.plan.fleet_problem import FleetAnswer, FleetProblem, FleetVars, Pool
from solver.plan.scaling import COST_SCALE


@dataclass
class SolveStats:
    status: str  # optimal | feasible (time limit: see gap) | infeasible | time limit, no answer found
    cost_per_hour: float | None
    gap: float | None  # relative gap of the cost objective (0: proven optimal)
    seconds: float
    variables: int
    constraints: int
    served_users: int | None = None  # users served (the first stage's answer when not all must be served)
    served_proven: bool | None = None  # that stage proved no answer serves more (None: every workload had to be)
    all_served_status: str | None = None  # the attempt to serve every workload: optimal, feasible, infeasible or time limit


def _server_bound(p: FleetProblem, sid: str) -> int:
    """New servers of SKU `sid` any answer could need: every workload on its largest pool there."""
    sku = p.skus[sid]
    n = 0
    for wl in p.workloads:
        need = [math.ceil(p.slots(ps) * wl.users / sku.gpus) if sku.slot_packing else ps.shape.servers_for(wl.users)
                for ps in wl.shapes if ps.shape.server.id == sid]
        n += max(need, default=0)
    return n


class FleetModel:
    """The model of `p`; require_all: every workload must be served (else the most users served are
    sought first, then the least cost for them)."""

    def __init__(self, p: FleetProblem, require_all: bool = True):
        from ortools.sat.python import cp_model

        self.p, self.cp, self.require_all = p, cp_model, require_all
        m = cp_model.CpModel()
        r, x, use = [], [], []
        for w, wl in enumerate(p.workloads):
            r.append([m.NewIntVar(0, replica_cap(wl.users, ps.capacity), f"r_{w}_{k}") for k, ps in enumerate(wl.shapes)])
            x.append(None if wl.pools.scenario.min_total_tokens_per_s is None
                     else [m.NewIntVar(0, wl.users, f"x_{w}_{k}") for k in range(len(wl.shapes))])
            use.append([m.NewBoolVar(f"u_{w}_{k}") for k in range(len(wl.shapes))])
        served = [m.NewBoolVar(f"v_{w}") for w in range(len(p.workloads))]
        own = {s: m.NewIntVar(0, sku.owned, f"o_{s}") for s, sku in p.skus.items()}
        new = {s: m.NewIntVar(0, _server_bound(p, s) if sku.stock is None else min(sku.stock, _server_bound(p, s)), f"n_{s}")
               for s, sku in p.skus.items()}
        v = FleetVars(m, r, x, use, served, own, new)
        v.cost = sum((sku.price_int() or 0) * new[s] + sku.owned_int() * own[s] for s, sku in p.skus.items())
        v.served_users = sum(wl.users * served[w] for w, wl in enumerate(p.workloads))
        for f in FLEET_FAMILIES:
            f.add(v, p)
        if require_all:
            for s in served:
                m.Add(s == 1)
        self.v = v

    def _solver(self, time_limit_s: float, workers: int):
        s = self.cp.CpSolver()
        s.parameters.num_workers = workers
        s.parameters.random_seed = 0
        # deterministic time, not wall time: the same inputs give the same answer on any machine
        s.parameters.max_deterministic_time = time_limit_s
        if workers > 1:
            s.parameters.interleave_search = True  # reproducible with several workers
        s.parameters.relative_gap_limit = 0.0
        return s

    def _read(self, s) -> FleetAnswer:
        p, v = self.p, self.v
        pools = []
        for w, wl in enumerate(p.workloads):
            used = [k for k in range(len(wl.shapes)) if s.Value(v.r[w][k]) > 0]
            if v.x[w] is None:
                users = split_users(wl.users, [(s.Value(v.r[w][k]), wl.shapes[k].capacity) for k in used]) if used else []
            else:
                users = [s.Value(v.x[w][k]) for k in used]
            pools.append([Pool(k, s.Value(v.r[w][k]), u) for k, u in zip(used, users, strict=True)])
        return FleetAnswer(pools, {k: s.Value(o) for k, o in v.own.items() if s.Value(o)},
                           {k: s.Value(n) for k, n in v.new.items() if s.Value(n)}, [bool(s.Value(x)) for x in v.served])

    def stats(self, s, status: int, seconds: float) -> SolveStats:
        names = {self.cp.OPTIMAL: "optimal", self.cp.FEASIBLE: "feasible"}
        proto = self.v.model.Proto()
        if status not in names:  # proven infeasible, or no answer found within the time limit
            return SolveStats("infeasible" if status == self.cp.INFEASIBLE else "time limit, no answer found", None, None,
                              seconds, len(proto.variables), len(proto.constraints))
        obj, bound = s.ObjectiveValue(), s.BestObjectiveBound()
        gap = 0.0 if status == self.cp.OPTIMAL else (abs(obj - bound) / max(abs(obj), 1e-9))
        return SolveStats(names[status], obj / COST_SCALE, gap, seconds, len(proto.variables), len(proto.constraints))

    def solve_point(self, max_cost_int: int | None = None, time_limit_s: float = 60.0, workers: int = 1
                    ) -> tuple[FleetAnswer | None, SolveStats]:
        """The most users served (at a cost <= max_cost_int), then the least cost for that."""
        import time

        v = self.v
        m = v.model.clone()  # the base model is reused for the next point of the front; variables keep their indices
        if max_cost_int is not None:
            m.Add(v.cost <= max_cost_int)
        t0 = time.perf_counter()
        if not self.require_all:
            m.Maximize(v.served_users)
            s = self._solver(time_limit_s, workers)
            st = s.Solve(m)
            if st not in (self.cp.OPTIMAL, self.cp.FEASIBLE):
                return None, self.stats(s, st, time.perf_counter() - t0)
            best = round(s.ObjectiveValue())
            proven = st == self.cp.OPTIMAL
            if best == 0:
                return None, self.stats(s, self.cp.INFEASIBLE, time.perf_counter() - t0)
            m.Add(v.served_users >= best)
        else:
            best, proven = sum(wl.users for wl in self.p.workloads), None
        m.Minimize(v.cost)
        s = self._solver(time_limit_s, workers)
        st = s.Solve(m)
        stats = self.stats(s, st, time.perf_counter() - t0)
        stats.served_users, stats.served_proven = best, proven
        if st not in (self.cp.OPTIMAL, self.cp.FEASIBLE):
            return None, stats
        return self._read(s), stats
