"""`gpuplan fleet`: a portfolio CSV (the batch columns, one row per workload) planned over one inventory,
under the base catalog and each variant; the answer as rows for CSV and tables.

A bad row becomes a workload in error with its reason; the others are planned.  Columns that choose
among a single scenario's answers (objectives, cost_unit, latency_metric, full_front) do not apply to
a fleet, which minimises its total cost: a row setting them gets a notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from solver.errors import GpuplanError
from solver.io.batch_rows import cells_to_scenario, read_rows, row_id
from solver.schema.scenario import Scenario

NOT_FOR_FLEETS = ("objectives", "cost_unit", "latency_metric", "full_front")


@dataclass
class Portfolio:
    workloads: list[tuple[str, Scenario]]
    errors: list[tuple[str, str]]  # (id, reason) of rows that are not workloads
    order: list[str]  # every row's id, in file order
    notices: list[str] = field(default_factory=list)


def read_portfolio(path: str) -> Portfolio:
    notices: list[str] = []
    header, rows = read_rows(path, notices)
    out = Portfolio([], [], [], notices)
    seen: dict[str, int] = {}
    for n, cells in rows:
        sid = row_id(header, cells, n)
        if sid in seen:
            out.errors.append((f"{sid}@row{n}", f"duplicate id '{sid}' (first used on row {seen[sid]})"))
            out.order.append(f"{sid}@row{n}")
            continue
        seen[sid] = n
        out.order.append(sid)
        try:
            sc = cells_to_scenario(header, cells, n)
        except GpuplanError as e:
            out.errors.append((sid, str(e)))
            continue
        for col in NOT_FOR_FLEETS:
            if col in header and header.index(col) < len(cells) and cells[header.index(col)].strip():
                notices.append(f"{sid}: column '{col}' chooses among one scenario's answers (solve, batch); "
                               "the fleet minimises its total cost and does not read it")
        out.workloads.append((sid, sc))
    if not out.order:
        raise GpuplanError(f"{path}: no workloads (only a header)")
    return out


def merge_errors(plan_dict: dict, portfolio: Portfolio) -> dict:
    """The plan's workloads with the portfolio's bad rows, in file order."""
    rows = {w["id"]: w for w in plan_dict["workloads"]}
    for wid, why in portfolio.errors:
        rows[wid] = {"id": wid, "status": "error", "reason": why}
    plan_dict["workloads"] = [rows[i] for i in portfolio.order if i in rows]
    if portfolio.errors and plan_dict["status"] == "ok":
        plan_dict["status"] = "partial"
    return plan_dict


def fleet_rows(d: dict) -> list[dict]:
    """One row per buy/rent line, workload pool and workload not served (`section` tells which)."""
    rows = []
    for s in d["servers"]:
        rows.append({"section": "server", "id": s["server"], "status": s["action"], "gpu": s["gpu"],
                     "count": s["owned_used"] + s["new"], "owned_used": s["owned_used"], "new": s["new"],
                     "cost_per_hour": s["cost_per_hour"], "utilisation_pct": s["utilisation_pct"], "idle_gpus": s["idle_gpus"],
                     "power_kw": s["power_kw"]})
    for w in d["workloads"]:
        if w["status"] != "served":
            rows.append({"section": "workload", "id": w["id"], "status": w["status"], "reason": w.get("reason"),
                         "cost_alone_per_hour": w.get("cost_alone_per_hour")})
            continue
        for p in w["pools"]:
            rows.append({"section": "pool", "id": w["id"], "status": "served", "gpu": p["gpu"], "server": p["server"],
                         "engine": p["engine"], "layout": _layout(p), "replicas": p["replicas"], "users": p["users"],
                         "share_pct": p["share_pct"], "tpot_ms": p["tpot_ms"], "ttft_ms": p["ttft_ms"],
                         "output_tokens_per_s": p["output_tokens_per_s"], "cost_share_per_hour": p["cost_share_per_hour"],
                         "cost_alone_per_hour": w.get("cost_alone_per_hour"), "on": ";".join(p["on"])})
    return aligned(rows)


def aligned(rows: list[dict]) -> list[dict]:
    """Rows of different kinds with one set of columns (first seen first; missing cells None), for CSV."""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    return [{c: r.get(c) for c in cols} for r in rows]


def _layout(p: dict) -> str:
    return f"TP{p['tp']}" + (f" PP{p['pp']}" if p["pp"] > 1 else "") + (f" EP{p['ep']}" if p["ep"] > 1 else "")


def variant_changes(base: dict, other: dict) -> dict:
    """What a variant changes against the base plan: cost, status, the buy/rent list and the workloads
    whose pools changed."""
    def counts(d: dict) -> dict[str, tuple[int, int]]:
        return {s["server"]: (s["owned_used"], s["new"]) for s in d["servers"]}

    def pools(d: dict) -> dict[str, tuple]:
        return {w["id"]: tuple((p["server"], p["engine"], _layout(p), p["replicas"], p["users"]) for p in w.get("pools", []))
                for w in d["workloads"]}

    b, o = counts(base), counts(other)
    servers = [{"server": s, "base": b.get(s, (0, 0))[0] + b.get(s, (0, 0))[1], "variant": o.get(s, (0, 0))[0] + o.get(s, (0, 0))[1]}
               for s in sorted(set(b) | set(o)) if b.get(s) != o.get(s)]
    pb, po = pools(base), pools(other)
    delta = (100 * (other["cost_per_hour"] / base["cost_per_hour"] - 1)) if base["cost_per_hour"] else None
    return {"status": other["status"], "cost_per_hour": other["cost_per_hour"], "base_cost_per_hour": base["cost_per_hour"],
            "delta_cost_pct": None if delta is None else round(delta, 2), "servers_changed": servers,
            "workloads_changed": [w for w in pb if pb.get(w) != po.get(w)]}
