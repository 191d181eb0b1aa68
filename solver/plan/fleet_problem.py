"""The fleet planner's input, solver-free: workloads with their pool shapes, the server SKUs they may
use with prices, holdings, stock and power, and the fleet-wide limits; and an answer in plain integers.

Both the CP-SAT model (solver.plan.fleet_model) and the checks (solver.plan.fleet_families' Python
rules, solver.plan.fleet_validate, solver.plan.fleet_bruteforce) read these, never each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from solver.plan.pools import PoolShape, WorkloadPools
from solver.plan.scaling import COST_SCALE, iround
from solver.schema.catalog import Catalog
from solver.schema.hardware import Server
from solver.schema.inventory import Inventory
from solver.schema.pricing import price_in

POWER_SCALE = 1000  # W, from kW


@dataclass(frozen=True)
class Sku:
    server: Server
    price_per_hour: float | None  # a new server, in the fleet's currency; None: cannot be rented or bought
    owned: int
    owned_cost_per_hour: float
    stock: int | None  # new servers that can be had (the inventory's and the catalog's limit); None: no limit
    power_kw: float
    power_source: str  # "server" (the catalog's draw) or "gpus" (GPU boards' TDP only: a lower bound)

    @property
    def id(self) -> str:
        return self.server.id

    @property
    def gpus(self) -> int:
        return self.server.gpu_count

    @property
    def slot_packing(self) -> bool:
        """Replica sizes (powers of two up to the server's) pack by GPU count alone when the server's GPU
        count is a power of two: any multiset of such sizes totalling <= n x G slots fits n servers
        (first-fit decreasing over a divisibility chain)."""
        return self.gpus & (self.gpus - 1) == 0

    def price_int(self) -> int | None:
        return None if self.price_per_hour is None else iround(self.price_per_hour * COST_SCALE)

    def owned_int(self) -> int:
        return iround(self.owned_cost_per_hour * COST_SCALE)

    def power_w(self) -> int:
        return iround(self.power_kw * POWER_SCALE)


@dataclass
class Workload:
    index: int
    id: str
    pools: WorkloadPools

    @property
    def users(self) -> int:
        return self.pools.scenario.peak_users

    @property
    def shapes(self) -> list[PoolShape]:
        return self.pools.pools


@dataclass
class FleetProblem:
    workloads: list[Workload]
    skus: dict[str, Sku]
    currency: str
    budget_per_hour: float | None
    power_limit_kw: float | None
    max_shapes: int  # distinct pool shapes per workload (1: no mixing)
    dropped_skus: int = 0  # SKUs removed by drop_dominated_skus

    def budget_int(self) -> int | None:
        return None if self.budget_per_hour is None else math.floor(self.budget_per_hour * COST_SCALE + 1e-9)

    def slots(self, p: PoolShape) -> int:
        """GPU slots one replica takes on its server SKU (whole servers for a multi-server replica)."""
        s = p.shape
        return s.servers_per_replica * s.server.gpu_count if s.spans_servers else s.gpus_per_replica


@dataclass
class Pool:
    shape: int  # index into the workload's shapes
    replicas: int
    users: int


@dataclass
class FleetAnswer:
    pools: list[list[Pool]]  # per workload
    owned_used: dict[str, int]  # per SKU
    new: dict[str, int]  # per SKU
    served: list[bool] = field(default_factory=list)

    def servers(self, sku: str) -> int:
        return self.owned_used.get(sku, 0) + self.new.get(sku, 0)

    def cost_int(self, problem: FleetProblem) -> int:
        return sum((problem.skus[s].price_int() or 0) * n for s, n in self.new.items()) + sum(
            problem.skus[s].owned_int() * n for s, n in self.owned_used.items())


def make_skus(workloads: list[Workload], catalog: Catalog, inventory: Inventory | None, currency: str,
              convert_prices: bool = True) -> dict[str, Sku]:
    """The SKUs any workload's pools use, with price, holdings, stock and power draw."""
    used = sorted({p.shape.server.id for w in workloads for p in w.shapes})
    out = {}
    for sid in used:
        server = catalog.servers[sid]
        price, _ = price_in(server, currency, catalog.pricing, catalog.exchange_rates if convert_prices else None)
        h = inventory.holding(sid) if inventory else None
        limits = [x for x in (server.stock, h.stock if h else None) if x is not None]
        if server.power_kw is not None:
            power, src = server.power_kw, "server"
        else:
            power, src = catalog.gpus[server.gpu].tdp_w * server.gpu_count / 1000, "gpus"
        out[sid] = Sku(server, price, h.owned if h else 0, h.owned_cost_per_hour if h else 0.0,
                       min(limits) if limits else None, power, src)
    return out


@dataclass
class FleetVars:
    """The fleet model's CP-SAT variables (solver.plan.fleet_model), in one container the families read."""

    model: Any
    r: list[list[Any]]
    x: list[list[Any] | None]  # users per pool, only for workloads with a total-throughput target (Coverage)
    use: list[list[Any]]
    served: list[Any]
    own: dict[str, Any]
    new: dict[str, Any]
    cost: Any = None
    served_users: Any = None


def drop_dominated_skus(p: FleetProblem) -> int:
    """Remove SKUs that another always replaces at no more cost; returns how many.

    SKU s goes when a kept SKU t has the same GPU and GPUs per server (both powers of two), no stock
    limit, a price no higher and a draw no higher, s holds no owned servers, and for every workload each
    pool shape on s has one on t with no more GPUs per replica, no less capacity and per-user speed.
    Moving every replica from s to t then keeps every rule (slots on t add up, ceil is subadditive,
    shares and budgets do not grow, mixing counts do not grow) at no more cost: the optimum is unchanged."""
    by_sku: list[dict[str, list[PoolShape]]] = []
    for wl in p.workloads:
        d: dict[str, list[PoolShape]] = {}
        for ps in wl.shapes:
            d.setdefault(ps.shape.server.id, []).append(ps)
        by_sku.append(d)

    def replaces(t: Sku, s: Sku) -> bool:
        if (t.server.gpu != s.server.gpu or t.gpus != s.gpus or not (t.slot_packing and s.slot_packing) or t.stock is not None
                or s.owned or t.price_per_hour is None or t.power_kw > s.power_kw
                or (s.price_per_hour is not None and t.price_per_hour > s.price_per_hour)):
            return False
        for d in by_sku:
            for a in d.get(s.id, []):
                if not any(b.shape.gpus_per_replica <= a.shape.gpus_per_replica and b.shape.servers_per_replica == a.shape.servers_per_replica
                           and b.capacity >= a.capacity and b.per_user_floor >= a.per_user_floor for b in d.get(t.id, [])):
                    return False
        return True

    def order(k: Sku) -> tuple:
        return (math.inf if k.price_per_hour is None else k.price_per_hour, k.power_kw, k.id)

    kept: list[Sku] = []
    gone = set()
    for sku in sorted(p.skus.values(), key=order):
        if sku.price_per_hour is None and not sku.owned:
            gone.add(sku.id)  # can be neither rented nor used from stock owned
        elif any(replaces(t, sku) for t in kept):
            gone.add(sku.id)
        else:
            kept.append(sku)
    if gone:
        p.skus = {k: v for k, v in p.skus.items() if k not in gone}
        for wl in p.workloads:
            wl.pools = replace(wl.pools, pools=[ps for ps in wl.pools.pools if ps.shape.server.id not in gone])
    return len(gone)
