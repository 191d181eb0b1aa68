"""Constraint families of the fleet model, one class each, each stated twice on purpose: `check(answer)`
in plain Python over the answer's integers (the specification: the validator and the brute-force
oracle use it, no ortools) and `add(vars)` as linear CP-SAT constraints.  Both use the same scaled
integers (solver.plan.scaling), so they agree at the boundaries.

Symbols: workload w with peak users U_w; its pool shapes k with capacity c_k (users per replica at the
targets, solver.plan.pools), GPU slots g_k per replica on SKU s(k) (whole servers for a multi-server
replica); SKU s with G_s GPUs per server, owned O_s, stock M_s, price p_s (new), owned cost q_s, draw P_s.
Variables: r_wk replicas, x_wk users, u_wk (pool used), v_w (workload served), o_s owned servers used,
n_s new servers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solver.plan.fleet_problem import FleetAnswer, FleetProblem, FleetVars
from solver.plan.scaling import COST_SCALE, TPUT_SCALE, iround


def replica_cap(users: int, capacity: int) -> int:
    """The most replicas of one pool shape an optimal answer uses: ceil(users / capacity).  More never
    helps (fewer replicas still hold the pool's users, every rule is monotone in the count), so the
    bound keeps the optimum and every front point, and tightens the model's relaxation."""
    return -(-users // capacity)


def split_users(users: int, pools: list[tuple[int, int]]) -> list[int]:
    """Users per pool for (replicas, capacity per replica) pairs, as even as the capacities allow: in
    proportion to each pool's capacity, each replica carrying at least one user (needs
    sum replicas <= users <= sum capacity x replicas)."""
    total = sum(c * r for r, c in pools)
    x = [max(r, min(c * r, users * c * r // total)) for r, c in pools]
    left = users - sum(x)
    step = 1 if left > 0 else -1
    while left:
        before = left
        for i, (r, c) in enumerate(pools):
            if left and r <= x[i] + step <= c * r:
                x[i] += step
                left -= step
        if left == before:
            raise AssertionError(f"no split of {users} users over {pools}")
    return x


def share_scale(p: FleetProblem) -> int:
    """A common multiple of the SKUs' GPU counts: a replica's share of a server, g_k / G_s, is the integer
    g_k x share_scale / G_s in these units."""
    return math.lcm(*(s.gpus for s in p.skus.values())) if p.skus else 1


def share_int(p: FleetProblem, w: int, k: int, scale: int) -> int:
    ps = p.workloads[w].shapes[k]
    return p.slots(ps) * scale // ps.shape.server.gpu_count


def speed_int(p: FleetProblem, w: int, k: int) -> int:
    return iround(p.workloads[w].shapes[k].per_user_floor * TPUT_SCALE)


@dataclass(frozen=True)
class FleetFamily:
    name: str
    label: str

    def add(self, v: FleetVars, p: FleetProblem) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def check(self, a: FleetAnswer, p: FleetProblem) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError


class Coverage(FleetFamily):
    """A split of U_w v_w users with r_wk <= x_wk <= c_k r_wk (every replica carries 1 to c_k users) exists
    iff sum_k r_wk <= U_w v_w <= sum_k c_k r_wk; the model states that, without x, for a workload
    without a total-throughput target (fewer variables and no symmetric splits), and the split is
    chosen after (split_users).  Under such a target x_wk are variables: sum_k x_wk = U_w v_w,
    r_wk <= x_wk <= c_k r_wk."""

    def add(self, v, p):
        for w, wl in enumerate(p.workloads):
            if v.x[w] is None:
                v.model.Add(sum(v.r[w]) <= wl.users * v.served[w])
                v.model.Add(sum(ps.capacity * v.r[w][k] for k, ps in enumerate(wl.shapes)) >= wl.users * v.served[w])
                continue
            v.model.Add(sum(v.x[w]) == wl.users * v.served[w])
            for k, ps in enumerate(wl.shapes):
                v.model.Add(v.x[w][k] <= ps.capacity * v.r[w][k])
                v.model.Add(v.r[w][k] <= v.x[w][k])

    def check(self, a, p):
        out = []
        for w, wl in enumerate(p.workloads):
            total = sum(pl.users for pl in a.pools[w])
            if total != (wl.users if a.served[w] else 0):
                out.append(f"{wl.id}: pools carry {total} users, not {wl.users if a.served[w] else 0}")
            for pl in a.pools[w]:
                ps = wl.shapes[pl.shape]
                if pl.users > ps.capacity * pl.replicas:
                    out.append(f"{wl.id}: {pl.users} users on {pl.replicas} x {ps.shape.key} exceed {ps.capacity} per replica")
                if pl.replicas > pl.users:
                    out.append(f"{wl.id}: {pl.replicas} replicas of {ps.shape.key} for {pl.users} users (an empty replica)")
        return out


class ShapeLimit(FleetFamily):
    """u_wk = 1 iff r_wk >= 1;  sum_k u_wk <= max_shapes (distinct pools per workload)."""

    def add(self, v, p):
        for w, wl in enumerate(p.workloads):
            for k, ps in enumerate(wl.shapes):
                v.model.Add(v.r[w][k] <= replica_cap(wl.users, ps.capacity) * v.use[w][k])
                v.model.Add(v.r[w][k] >= v.use[w][k])
            v.model.Add(sum(v.use[w]) <= p.max_shapes)
            # implied by coverage, stated for the relaxation: a served workload uses a pool, and at least
            # ceil(U / max c) replicas in all
            v.model.Add(sum(v.use[w]) >= v.served[w])
            if wl.shapes:
                v.model.Add(sum(v.r[w]) >= replica_cap(wl.users, max(ps.capacity for ps in wl.shapes)) * v.served[w])

    def check(self, a, p):
        return [f"{wl.id}: {len(a.pools[w])} pools, more than {p.max_shapes}"
                for w, wl in enumerate(p.workloads) if len({pl.shape for pl in a.pools[w]}) > p.max_shapes]


def slot_demand(a: FleetAnswer, p: FleetProblem) -> dict[str, int]:
    """GPU slots the answer's replicas take per SKU."""
    out: dict[str, int] = {}
    for w, wl in enumerate(p.workloads):
        for pl in a.pools[w]:
            ps = wl.shapes[pl.shape]
            out[ps.shape.server.id] = out.get(ps.shape.server.id, 0) + p.slots(ps) * pl.replicas
    return out


def dedicated_servers(a: FleetAnswer, p: FleetProblem, sku: str) -> int:
    """Servers a SKU without slot packing needs: each pool on its own servers."""
    n = 0
    for w, wl in enumerate(p.workloads):
        for pl in a.pools[w]:
            s = wl.shapes[pl.shape].shape
            if s.server.id == sku:
                n += s.servers_for(pl.replicas)
    return n


class Packing(FleetFamily):
    """Power-of-two servers: G_s (o_s + n_s) >= sum_{k on s} g_k r_k — exact, as replica sizes are powers of
    two that divide G_s or whole servers (Sku.slot_packing).  Other GPU counts: each pool on servers of
    its own, d_k >= r_k / (replicas per server), o_s + n_s >= sum d_k (sufficient, not always the fewest)."""

    def add(self, v, p):
        on_sku: dict[str, list[tuple[int, int]]] = {sid: [] for sid in p.skus}
        for w, wl in enumerate(p.workloads):
            for k, ps in enumerate(wl.shapes):
                on_sku[ps.shape.server.id].append((w, k))
        for sid, sku in p.skus.items():
            terms = on_sku[sid]
            n = v.own[sid] + v.new[sid]
            for w, k in terms:  # implied, for the relaxation: a pool in use needs a server of its SKU
                v.model.Add(n >= v.use[w][k])
            if sku.slot_packing:
                v.model.Add(sku.gpus * n >= sum(p.slots(p.workloads[w].shapes[k]) * v.r[w][k] for w, k in terms))
            else:
                need = []
                for w, k in terms:
                    s = p.workloads[w].shapes[k].shape
                    if s.spans_servers:
                        need.append(s.servers_per_replica * v.r[w][k])
                    else:
                        d = v.model.NewIntVar(0, p.workloads[w].users, f"d_{w}_{k}")
                        v.model.Add(s.replicas_per_server * d >= v.r[w][k])
                        need.append(d)
                v.model.Add(n >= sum(need))

    def check(self, a, p):
        out = []
        demand = slot_demand(a, p)
        for sid, sku in p.skus.items():
            have = a.servers(sid)
            if sku.slot_packing and demand.get(sid, 0) > sku.gpus * have:
                out.append(f"{sid}: replicas take {demand[sid]} GPUs, {have} servers hold {sku.gpus * have}")
            if not sku.slot_packing and dedicated_servers(a, p, sid) > have:
                out.append(f"{sid}: pools need {dedicated_servers(a, p, sid)} servers, {have} used")
        return out


class Holdings(FleetFamily):
    """o_s <= O_s;  n_s <= M_s (stock);  n_s = 0 without a price (only owned servers of an unpriced SKU)."""

    def add(self, v, p):
        for sid, sku in p.skus.items():
            v.model.Add(v.own[sid] <= sku.owned)
            if sku.price_per_hour is None:
                v.model.Add(v.new[sid] == 0)
            elif sku.stock is not None:
                v.model.Add(v.new[sid] <= sku.stock)

    def check(self, a, p):
        out = []
        for sid, sku in p.skus.items():
            if a.owned_used.get(sid, 0) > sku.owned:
                out.append(f"{sid}: uses {a.owned_used[sid]} owned servers, {sku.owned} owned")
            new = a.new.get(sid, 0)
            if new and sku.price_per_hour is None:
                out.append(f"{sid}: {new} new servers, but it has no {p.currency} price")
            if sku.stock is not None and new > sku.stock:
                out.append(f"{sid}: {new} new servers, {sku.stock} in stock")
        return out


class Budget(FleetFamily):
    """sum_s p_s n_s + q_s o_s <= budget."""

    def add(self, v, p):
        if p.budget_int() is not None:
            v.model.Add(v.cost <= p.budget_int())

    def check(self, a, p):
        b = p.budget_int()
        if b is not None and a.cost_int(p) > b:
            return [f"costs {a.cost_int(p) / COST_SCALE:.2f} {p.currency}/h, above the budget of {p.budget_per_hour:g}"]
        return []


class Power(FleetFamily):
    """sum_s P_s (o_s + n_s) <= the power limit."""

    def add(self, v, p):
        if p.power_limit_kw is not None:
            v.model.Add(sum(sku.power_w() * (v.own[s] + v.new[s]) for s, sku in p.skus.items())
                        <= math.floor(p.power_limit_kw * 1000 + 1e-9))

    def check(self, a, p):
        if p.power_limit_kw is None:
            return []
        kw = sum(sku.power_w() * a.servers(s) for s, sku in p.skus.items()) / 1000
        return [f"draws {kw:.1f} kW, above the limit of {p.power_limit_kw:g} kW"] if kw > p.power_limit_kw + 1e-9 else []


class WorkloadServers(FleetFamily):
    """Each workload's max_servers, on its share of servers: sum_k r_wk g_k / G_s(k) <= max_servers_w."""

    def add(self, v, p):
        scale = share_scale(p)
        for w, wl in enumerate(p.workloads):
            v.model.Add(sum(share_int(p, w, k, scale) * v.r[w][k] for k in range(len(wl.shapes)))
                        <= wl.pools.scenario.max_servers * scale)

    def check(self, a, p):
        scale = share_scale(p)
        out = []
        for w, wl in enumerate(p.workloads):
            share = sum(share_int(p, w, pl.shape, scale) * pl.replicas for pl in a.pools[w])
            if share > wl.pools.scenario.max_servers * scale:
                out.append(f"{wl.id}: uses {share / scale:g} servers' worth, above its max_servers {wl.pools.scenario.max_servers}")
        return out


class WorkloadBudget(FleetFamily):
    """Each workload's budget_per_hour, on its share of the servers at their rental price:
    sum_k r_wk g_k / G_s p_s <= budget_w (an unpriced SKU cannot serve a workload with a budget)."""

    def add(self, v, p):
        scale = share_scale(p)
        for w, wl in enumerate(p.workloads):
            b = wl.pools.scenario.budget_per_hour
            if b is None:
                continue
            terms = []
            for k, ps in enumerate(wl.shapes):
                price = p.skus[ps.shape.server.id].price_int()
                if price is None:
                    v.model.Add(v.r[w][k] == 0)
                else:
                    terms.append(share_int(p, w, k, scale) * price * v.r[w][k])
            v.model.Add(sum(terms) <= math.floor(b * COST_SCALE + 1e-9) * scale)

    def check(self, a, p):
        scale = share_scale(p)
        out = []
        for w, wl in enumerate(p.workloads):
            b = wl.pools.scenario.budget_per_hour
            if b is None:
                continue
            total = 0
            for pl in a.pools[w]:
                price = p.skus[wl.shapes[pl.shape].shape.server.id].price_int()
                if price is None:
                    out.append(f"{wl.id}: {wl.shapes[pl.shape].shape.server.id} has no price for its budget")
                    continue
                total += share_int(p, w, pl.shape, scale) * price * pl.replicas
            if total > math.floor(b * COST_SCALE + 1e-9) * scale:
                out.append(f"{wl.id}: its share costs {total / scale / COST_SCALE:.2f}/h, above its budget of {b:g}")
        return out


class WorkloadThroughput(FleetFamily):
    """A workload's min_total_tokens_per_s, on a sufficient bound: each user of pool k gets at least the
    per-user speed at the pool's capacity, so sum_k s_k x_wk >= target v_w (the reported throughput,
    evaluated at the real loads, is at least this)."""

    def add(self, v, p):
        for w, wl in enumerate(p.workloads):
            t = wl.pools.scenario.min_total_tokens_per_s
            if t is not None:
                v.model.Add(sum(speed_int(p, w, k) * v.x[w][k] for k in range(len(wl.shapes)))
                            >= math.ceil(t * TPUT_SCALE - 1e-9) * v.served[w])

    def check(self, a, p):
        out = []
        for w, wl in enumerate(p.workloads):
            t = wl.pools.scenario.min_total_tokens_per_s
            if t is not None and a.served[w]:
                got = sum(speed_int(p, w, pl.shape) * pl.users for pl in a.pools[w])
                if got < math.ceil(t * TPUT_SCALE - 1e-9):
                    out.append(f"{wl.id}: {got / TPUT_SCALE:.0f} tokens/s guaranteed, below {t:g}")
        return out


FLEET_FAMILIES: tuple[FleetFamily, ...] = (
    Coverage("coverage", "every user of a served workload on a replica within its capacity at the targets"),
    ShapeLimit("shape_limit", "distinct pools per workload"),
    Packing("packing", "replicas packed onto whole servers"),
    Holdings("holdings", "owned servers and stock"),
    Budget("budget", "fleet budget"),
    Power("power", "fleet power limit"),
    WorkloadServers("workload_servers", "each workload's max_servers"),
    WorkloadBudget("workload_budget", "each workload's budget"),
    WorkloadThroughput("workload_throughput", "each workload's total tokens/s target"),
)


def fleet_violations(a: FleetAnswer, p: FleetProblem) -> list[str]:
    return [f"{f.name}: {why}" for f in FLEET_FAMILIES for why in f.check(a, p)]

