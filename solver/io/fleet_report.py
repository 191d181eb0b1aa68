"""The fleet's self-contained HTML report: summary, buy/rent list, utilisation, workloads (cost alone
and in the fleet), the (cost, users served) front, and per variant what changes.  Deterministic bytes."""

from __future__ import annotations

import html

from solver.io.files import write_text
from solver.io.fleet_io import fleet_rows
from solver.io.report import _bar_svg, _page, _table


def _summary(d: dict, title: str) -> str:
    served = sum(1 for w in d["workloads"] if w["status"] == "served")
    alone = sum(w.get("cost_alone_per_hour") or 0 for w in d["workloads"] if w["status"] == "served")
    gap = "" if not d["stats"].get("gap") else f", gap {100 * d['stats']['gap']:.2f}%"
    saving = f"; served alone they would cost {alone:.2f} {d['currency']}/h" if alone else ""
    return (f"<h2>{html.escape(title)}</h2><p>{served} of {len(d['workloads'])} workloads served for "
            f"<b>{d['cost_per_hour']:.2f} {html.escape(d['currency'])}/h</b> ({d['cost_per_month']:.0f} per month, "
            f"{html.escape(d['mode'])}){html.escape(saving)}. Solver: {html.escape(str(d['stats']['cpsat_status']))}"
            f"{gap}.</p>")


def _plan_parts(d: dict, title: str) -> list[str]:
    parts = [_summary(d, title)]
    cur = d["currency"]
    if d["servers"]:
        parts.append("<h3>Servers to use</h3>" + _table(
            [{**s, "price_per_hour": f"{s['price_per_hour']} {cur}" if s["price_per_hour"] is not None else "none"} for s in d["servers"]],
            ["server", "gpu", "gpus_per_server", "owned_used", "new", "action", "price_per_hour", "cost_per_hour", "gpus_used",
             "idle_gpus", "utilisation_pct", "power_kw"]))
        parts.append(_bar_svg([(i["name"], 100 * i["gpus_used"] / i["gpus"]) for i in d["instances"]],
                              "GPUs in use per server", "% of the server's GPUs"))
    rows = fleet_rows(d)
    parts.append("<h3>Workloads and pools</h3>" + _table([r for r in rows if r["section"] != "server"],
                 ["id", "status", "gpu", "server", "engine", "layout", "replicas", "users", "share_pct", "tpot_ms", "ttft_ms",
                  "output_tokens_per_s", "cost_share_per_hour", "cost_alone_per_hour", "on", "reason"]))
    if len(d["front"]) > 1:
        parts.append(f"<h3>Cost ({html.escape(cur)}/h) against users served</h3>" + _table(
            [{**f, "not_served": ", ".join(f["not_served"]) or "-"} for f in d["front"]],
            ["cost_per_hour", "users_served", "users_total", "not_served", "proven_optimal"]))
    return parts


def fleet_report(payload: dict, out_html: str) -> None:
    parts = _plan_parts(payload["base"], "Base catalog")
    if payload["variants"]:
        parts.append("<h2>Variants</h2>" + _table(
            [{"variant": n, **v["changes"], "servers_changed": "; ".join(f"{s['server']} {s['base']}->{s['variant']}"
                                                                          for s in v["changes"]["servers_changed"]),
              "workloads_changed": ", ".join(v["changes"]["workloads_changed"])} for n, v in payload["variants"].items()],
            ["variant", "status", "cost_per_hour", "base_cost_per_hour", "delta_cost_pct", "servers_changed", "workloads_changed"]))
        for name, v in payload["variants"].items():
            parts += _plan_parts(v["plan"], f"Variant {name}")
    write_text(out_html, _page("gpuplan fleet", parts))
