"""A fleet answer made concrete: replicas placed on numbered servers, the buy/rent list, and each
pool's metrics at the load it carries.

Placement is first-fit decreasing per SKU: replicas sorted by GPUs (largest first) go to the first
server with room; multi-server replicas take whole servers.  For power-of-two replica sizes on
power-of-two servers this always fits the server count the model chose (Sku.slot_packing); owned
servers are numbered first.
"""

from __future__ import annotations

from solver.plan.fleet_families import slot_demand
from solver.plan.fleet_problem import FleetAnswer, FleetProblem
from solver.plan.pools import evaluate_pool
from solver.plan.scaling import COST_SCALE
from solver.schema.catalog import Catalog


def replica_name(workload: str, shape, i: int) -> str:
    return (f"{workload} {shape.engine.id} TP{shape.tp}" + (f" PP{shape.pp}" if shape.pp > 1 else "")
            + (f" EP{shape.ep}" if shape.ep > 1 else "") + f" #{i + 1}")


def _label(sid: str, i: int, owned: int) -> str:
    return f"{sid}#{i + 1}" + (" (owned)" if i < owned else "")


def place(a: FleetAnswer, p: FleetProblem) -> list[dict]:
    """One entry per server in use: its name, GPUs used and the replicas on it ('workload/shape r<i>')."""
    out = []
    for sid, sku in p.skus.items():
        n = a.servers(sid)
        if not n:
            continue
        free = [sku.gpus] * n
        hosted: list[list[str]] = [[] for _ in range(n)]
        items = []  # (-slots, workload, pool position, replica) for a deterministic order
        for w, wl in enumerate(p.workloads):
            for j, pl in enumerate(a.pools[w]):
                ps = wl.shapes[pl.shape]
                if ps.shape.server.id == sid:
                    items += [(-p.slots(ps), w, j, i) for i in range(pl.replicas)]
        dedicated: dict[tuple[int, int], list[int]] = {}  # servers that are not a power of two: a pool's own servers
        for neg, w, j, i in sorted(items):
            wl = p.workloads[w]
            shape = wl.shapes[a.pools[w][j].shape].shape
            name = replica_name(wl.id, shape, i)
            if shape.spans_servers:
                take = [k for k in range(n) if free[k] == sku.gpus][:shape.servers_per_replica]
            elif sku.slot_packing:
                take = [k for k in range(n) if free[k] >= -neg][:1]
            else:
                mine = dedicated.setdefault((w, j), [])
                if not mine or len(hosted[mine[-1]]) >= shape.replicas_per_server:
                    mine += [k for k in range(n) if free[k] == sku.gpus][:1]
                take = mine[-1:] if mine and free[mine[-1]] >= -neg else []
            if len(take) < (shape.servers_per_replica if shape.spans_servers else 1):
                raise AssertionError(f"placement: {name} does not fit {n} x {sid}")
            for k in take:
                free[k] -= min(-neg, sku.gpus)
                hosted[k].append(name)
        for k in range(n):
            out.append({"name": _label(sid, k, a.owned_used.get(sid, 0)), "server": sid, "gpus": sku.gpus,
                        "gpus_used": sku.gpus - free[k], "replicas": hosted[k]})
    return out


def sku_cost_int(a: FleetAnswer, p: FleetProblem, sid: str) -> int:
    sku = p.skus[sid]
    return (sku.price_int() or 0) * a.new.get(sid, 0) + sku.owned_int() * a.owned_used.get(sid, 0)


def server_rows(a: FleetAnswer, p: FleetProblem, placed: list[dict], mode: str) -> list[dict]:
    """The buy/rent list: per SKU, owned servers used and new ones, cost, GPUs used and power."""
    rows = []
    for sid, sku in p.skus.items():
        n = a.servers(sid)
        if not n:
            continue
        used = sum(x["gpus_used"] for x in placed if x["server"] == sid)
        new = a.new.get(sid, 0)
        rows.append({"server": sid, "gpu": sku.server.gpu, "gpus_per_server": sku.gpus, "owned_used": a.owned_used.get(sid, 0),
                     "owned": sku.owned, "new": new, "action": mode if new else "owned",
                     "price_per_hour": sku.price_per_hour, "cost_per_hour": round(sku_cost_int(a, p, sid) / COST_SCALE, 4),
                     "gpus_used": used, "idle_gpus": n * sku.gpus - used, "utilisation_pct": round(100 * used / (n * sku.gpus), 1),
                     "power_kw": round(sku.power_kw * n, 3), "power_source": sku.power_source,
                     "stock": sku.stock, "provider": sku.server.provider})
    return rows


def pool_rows(a: FleetAnswer, p: FleetProblem, w: int, catalog: Catalog, placed: list[dict],
              demand: dict[str, int] | None = None) -> list[dict]:
    """A served workload's pools with their metrics at the load each carries and its share of the cost
    (each SKU's cost split by the GPUs each replica uses; `demand`: slot_demand of the answer, when the
    caller has it)."""
    wl = p.workloads[w]
    demand = slot_demand(a, p) if demand is None else demand
    rows = []
    for pl in a.pools[w]:
        ps = wl.shapes[pl.shape]
        s = ps.shape
        e = evaluate_pool(pl.replicas, pl.users, wl.pools.perf(s, catalog))
        sid = s.server.id
        share = sku_cost_int(a, p, sid) * p.slots(ps) * pl.replicas / demand[sid] / COST_SCALE
        names = {replica_name(wl.id, s, i) for i in range(pl.replicas)}
        rows.append({"server": sid, "gpu": s.gpu.id, "engine": s.engine.id, "tp": s.tp, "pp": s.pp, "ep": s.ep,
                     "gpus_per_replica": s.gpus_per_replica, "replicas": pl.replicas, "users": pl.users,
                     "share_pct": round(100 * pl.users / wl.users, 1), "users_per_replica": e.users_per_replica,
                     "capacity_per_replica": ps.capacity, "tpot_ms": round(e.busiest.tpot_ms, 3), "ttft_ms": round(e.busiest.ttft_ms, 2),
                     "output_tokens_per_s": round(e.total_tokens_per_s, 2),
                     "output_tokens_per_s_per_user": round(e.busiest.per_user_tokens_per_s, 2),
                     "cost_share_per_hour": round(share, 4),
                     "on": [x["name"] for x in placed if x["server"] == sid and names.intersection(x["replicas"])]})
    return rows
