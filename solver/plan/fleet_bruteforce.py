"""The fleet test oracle: every combination of every workload's pools and replica counts, no ortools.

Written apart from the CP-SAT model, from the problem's plain rules: a workload's pools (at most
max_shapes distinct shapes, any replica counts) serve it when a split of its users exists with every
replica carrying between 1 and its capacity (r_k <= x_k <= c_k r_k) and, under a total-throughput
target, the best split's guaranteed speed reaches it.  Servers per SKU are the fewest that hold the
replicas (ceil of slots / GPUs per server, or each pool on its own servers), owned ones used first
when cheaper.  Only for small instances (a few workloads, SKUs and users).
"""

from __future__ import annotations

import itertools
import math

from solver.plan.fleet_families import share_int, share_scale, speed_int
from solver.plan.fleet_problem import FleetProblem
from solver.plan.scaling import COST_SCALE, TPUT_SCALE


def _split_ok(p: FleetProblem, w: int, combo: list[tuple[int, int]]) -> bool:
    wl = p.workloads[w]
    lo = sum(r for _, r in combo)
    hi = sum(wl.shapes[k].capacity * r for k, r in combo)
    if not lo <= wl.users <= hi:
        return False
    t = wl.pools.scenario.min_total_tokens_per_s
    if t is None:
        return True
    x = {k: r for k, r in combo}  # the fastest users first, each pool at least one user per replica
    left = wl.users - lo
    for k, r in sorted(combo, key=lambda kr: -speed_int(p, w, kr[0])):
        add = min(left, wl.shapes[k].capacity * r - r)
        x[k] += add
        left -= add
    return sum(speed_int(p, w, k) * x[k] for k in x) >= math.ceil(t * TPUT_SCALE - 1e-9)


def _usage(p: FleetProblem, w: int, combo: list[tuple[int, int]]) -> tuple:
    """What a workload's pools take from each SKU: (slots, dedicated servers) per SKU, in p.skus order."""
    wl = p.workloads[w]
    out = []
    for sid, sku in p.skus.items():
        slots = ded = 0
        for k, r in combo:
            s = wl.shapes[k].shape
            if s.server.id == sid:
                slots += p.slots(wl.shapes[k]) * r
                ded += s.servers_for(r)
        out += [slots, 0 if sku.slot_packing else ded]
    return tuple(out)


def workload_choices(p: FleetProblem, w: int) -> list[tuple]:
    """The minimal usage vectors among the workload's valid pool combinations (every fleet-level rule is
    monotone in them, so the others never give a better answer)."""
    wl = p.workloads[w]
    scale = share_scale(p)
    sc = wl.pools.scenario
    vecs = set()
    for n in range(1, min(p.max_shapes, len(wl.shapes)) + 1):
        for shapes in itertools.combinations(range(len(wl.shapes)), n):
            for counts in itertools.product(range(1, wl.users + 1), repeat=n):
                combo = list(zip(shapes, counts, strict=True))
                if not _split_ok(p, w, combo):
                    continue
                if sum(share_int(p, w, k, scale) * r for k, r in combo) > sc.max_servers * scale:
                    continue
                if sc.budget_per_hour is not None:
                    prices = [p.skus[wl.shapes[k].shape.server.id].price_int() for k, _ in combo]
                    if None in prices or sum(share_int(p, w, k, scale) * pr * r for (k, r), pr in zip(combo, prices, strict=True)) \
                            > math.floor(sc.budget_per_hour * COST_SCALE + 1e-9) * scale:
                        continue
                vecs.add(_usage(p, w, combo))
    return [v for v in vecs if not any(u != v and all(a <= b for a, b in zip(u, v, strict=True)) for u in vecs)]


def _fleet_cost(p: FleetProblem, usage: list[int]) -> int | None:
    """The least cost of the servers holding `usage` (summed vectors), None when the inventory cannot."""
    cost = power = 0
    for i, sku in enumerate(p.skus.values()):
        slots, ded = usage[2 * i], usage[2 * i + 1]
        n = math.ceil(slots / sku.gpus) if sku.slot_packing else ded
        price = sku.price_int()
        if price is None or sku.owned_int() <= price:  # owned servers first when they cost no more
            own = min(n, sku.owned)
            new = n - own
        else:
            new = n if sku.stock is None else min(n, sku.stock)
            own = n - new
        if own > sku.owned or (new and price is None) or (sku.stock is not None and new > sku.stock):
            return None
        cost += (price or 0) * new + sku.owned_int() * own
        power += sku.power_w() * n
    if p.budget_int() is not None and cost > p.budget_int():
        return None
    if p.power_limit_kw is not None and power > math.floor(p.power_limit_kw * 1000 + 1e-9):
        return None
    return cost


def front(p: FleetProblem) -> list[tuple[int, int]]:
    """The exact (users served, cost) front, most served first: every point's cost is the least for
    serving that many users, and no point serves fewer for more."""
    width = 2 * len(p.skus)
    options = [[None, *workload_choices(p, w)] for w in range(len(p.workloads))]
    best: dict[int, int] = {}
    for pick in itertools.product(*options):
        usage = [0] * width
        served = 0
        for w, vec in enumerate(pick):
            if vec is not None:
                served += p.workloads[w].users
                usage = [a + b for a, b in zip(usage, vec, strict=True)]
        if served == 0:
            continue
        c = _fleet_cost(p, usage)
        if c is not None and c < best.get(served, math.inf):
            best[served] = c
    out: list[tuple[int, int]] = []
    for served in sorted(best, reverse=True):
        if not out or best[served] < out[-1][1]:
            out.append((served, best[served]))
    return out
