"""Pools: the replica shapes one workload may use in a fleet or a mixed deployment, each with the most
users one replica carries at the workload's targets.

A *pool* is `r` replicas of one shape carrying `x` of the workload's users, spread evenly
(options.even_split).  Its busiest replica carries ceil(x / r) users; TPOT, TTFT and per-user speed
only worsen as a replica's load grows (the same monotonicity the candidate screening uses), so the
pool meets the service targets exactly when ceil(x / r) <= capacity, the largest load at which one
replica still meets them (and that memory and the engine's running cap hold).  That turns "every
pool meets the targets" into the linear x <= capacity * r the fleet model uses, with no loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from solver.plan.candidates import catalog_speed, enumerate_candidates
from solver.plan.families import service_breaks
from solver.plan.options import Option, Shape, even_split
from solver.predict.speed import Perf
from solver.schema.catalog import Catalog
from solver.schema.llm import LlmModel
from solver.schema.scenario import Scenario


@dataclass(frozen=True)
class PoolShape:
    shape: Shape
    capacity: int  # users one replica carries at the targets
    per_user_floor: float  # tokens/s each user gets at that load (the least over loads up to it)


@dataclass
class PoolEval:
    """A pool evaluated at the load it carries."""

    busiest: Perf  # the busiest replica's speed
    users_per_replica: int  # the busiest replica's users
    total_tokens_per_s: float


@dataclass
class WorkloadPools:
    scenario: Scenario  # prepared (ids normalised, speed floor applied)
    model: LlmModel
    pools: list[PoolShape]
    memo: dict[tuple, Any] = field(default_factory=dict)
    dropped: int = 0  # shapes removed as dominated (same server, no fewer GPUs, no more users, no faster)
    every: list[PoolShape] = field(default_factory=list)  # before the dominance filter (retarget starts from these)

    def perf(self, shape: Shape, catalog: Catalog) -> Callable[[int], Perf]:
        return catalog_speed(self.model, self.scenario, shape, catalog, self.memo)


def _probe(shape: Shape, perf: Perf, users: int) -> Option:
    """One replica at `users`: the option the service families judge."""
    return Option(shape=shape, users_per_replica=users, replicas=1, servers=1, kv_need_gib=0.0, perf=perf,
                  total_tokens_per_s=perf.output_tokens_per_s, users=users)


def pool_capacity(shape: Shape, sc: Scenario, perf: Callable[[int], Perf], most: int) -> int:
    """The largest load (users on one replica, <= most) meeting the service targets; 0 if none does."""
    if most < 1 or service_breaks(_probe(shape, perf(1), 1), sc):
        return 0
    lo, hi = 1, most
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if service_breaks(_probe(shape, perf(mid), mid), sc):
            hi = mid - 1
        else:
            lo = mid
    return lo


def enumeration_scenario(sc: Scenario) -> Scenario:
    """The scenario the pools are enumerated under: fleet-level limits (budget, servers, total
    throughput) are the fleet model's, and an unpriced server may still be owned, so no price is needed."""
    return sc.model_copy(update={"objectives": ["throughput"], "budget_per_hour": None, "min_total_tokens_per_s": None,
                                 "max_servers": 100_000})


def workload_pools(sc: Scenario, catalog: Catalog, model: LlmModel) -> WorkloadPools:
    """Every shape that can carry at least one of the workload's users at its targets, with its capacity;
    shapes dominated on the same server (no fewer GPUs, no more capacity, no faster) dropped."""
    esc = enumeration_scenario(sc)
    memo: dict[tuple, Any] = {}
    shapes = enumerate_candidates(esc, catalog, model, select="feasible", memo=memo, evaluate=False).shapes
    out = WorkloadPools(sc, model, [], memo)
    pools = []
    for shape in shapes:
        perf = out.perf(shape, catalog)
        cap = pool_capacity(shape, sc, perf, min(sc.peak_users, shape.max_users_memory))
        if cap:
            pools.append(PoolShape(shape, cap, perf(cap).per_user_tokens_per_s))
    out.every = pools
    out.pools = _undominated(pools, sc.min_total_tokens_per_s is not None)
    out.dropped = len(pools) - len(out.pools)
    return out


def retarget(wp: WorkloadPools, sc: Scenario, catalog: Catalog) -> WorkloadPools:
    """The same workload under tighter service targets `sc`: capacities recomputed (they can only fall),
    shapes that no longer carry a user dropped, the dominance filter applied afresh."""
    pools = []
    for p in wp.every:
        perf = wp.perf(p.shape, catalog)
        cap = pool_capacity(p.shape, sc, perf, p.capacity)
        if cap:
            pools.append(PoolShape(p.shape, cap, perf(cap).per_user_tokens_per_s))
    kept = _undominated(pools, sc.min_total_tokens_per_s is not None)
    return WorkloadPools(sc, wp.model, kept, wp.memo, len(pools) - len(kept), pools)


def _undominated(pools: list[PoolShape], speed_matters: bool) -> list[PoolShape]:
    """Drop a pool shape when another on the same server SKU, spanning as many servers, uses no more GPUs
    per replica and carries no fewer users (and, under a total-throughput target, gives each user no
    less): every fleet constraint is monotone in these, so the front is unchanged."""
    def key(p: PoolShape) -> tuple:
        return (p.shape.gpus_per_replica, -p.capacity, -p.per_user_floor if speed_matters else 0.0, p.shape.key)

    by_server: dict[tuple[str, int], list[PoolShape]] = {}
    for p in pools:
        by_server.setdefault((p.shape.server.id, p.shape.servers_per_replica), []).append(p)
    kept = []
    for group in by_server.values():
        best: list[PoolShape] = []
        for p in sorted(group, key=key):
            if not any(b.shape.gpus_per_replica <= p.shape.gpus_per_replica and b.capacity >= p.capacity
                       and (not speed_matters or b.per_user_floor >= p.per_user_floor) for b in best):
                best.append(p)
        kept.extend(best)
    return sorted(kept, key=lambda p: p.shape.key)


def evaluate_pool(replicas: int, users: int, perf: Callable[[int], Perf]) -> PoolEval:
    """The pool's metrics at the load it carries: users spread evenly over its replicas."""
    high, low, extra = even_split(users, replicas)
    busiest = perf(high)
    total = extra * busiest.output_tokens_per_s + (replicas - extra) * (perf(low).output_tokens_per_s if low else 0.0)
    return PoolEval(busiest, high, total)
