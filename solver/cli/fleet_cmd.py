"""`gpuplan fleet`: one plan for a portfolio of workloads over one inventory (solver.plan.fleet)."""

from __future__ import annotations

import click

from solver.cli.options import OutputPath, catalog_option, parse_variants
from solver.cli.render import print_table, to_csv, to_json, to_yaml


@click.command("fleet")
@click.argument("portfolio_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--inventory", "inventory_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="YAML: servers owned and in stock per SKU, budget, power limit (see examples/fleet/inventory.yaml).")
@click.option("--variant", "variants", multiple=True, metavar="NAME=OVERLAY.yaml",
              help="Plan the portfolio again under a catalog variant and report what changes; repeatable.")
@click.option("--max-shapes", type=click.IntRange(1, 8), default=2, show_default=True,
              help="Distinct pool shapes (GPU type, server, engine, layout) a workload may mix; 1: no mixing.")
@click.option("--front-points", type=click.IntRange(1, 50), default=4, show_default=True,
              help="Points of the (cost, users served) front: the full answer, then the least costly ways to serve fewer.")
@click.option("--time-limit", "time_limit_s", type=click.FloatRange(0.1, 3600), default=60.0, show_default=True,
              help="CP-SAT deterministic time per solve (about seconds on one core); an answer at the limit reports its gap.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="CP-SAT search workers (the answer is the same for a given count; interleaved search).")
@click.option("--no-alone", is_flag=True, help="Skip solving each workload alone (its cost_alone_per_hour).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "yaml", "csv"]), default="table", show_default=True)
@click.option("--report", "report_path", type=OutputPath(), default=None, help="Self-contained HTML report.")
@catalog_option
def fleet_cmd(portfolio_csv, inventory_path, variants, max_shapes, front_points, time_limit_s, workers, no_alone, fmt,
              report_path, catalog_paths):
    """Plan a portfolio of workloads (the batch CSV's columns, one row per workload) on one inventory.

    Answers the buy/rent list, each workload's pools and the servers they share, utilisation, each
    workload's cost alone and in the fleet, the (cost, users served) front, and per variant what
    changes.  Exit 0 when every workload is served, 4 when some are not or are in error (each says
    why), 3 when none can be, 2 on bad input.
    """
    from solver.errors import EXIT_INFEASIBLE, EXIT_PARTIAL
    from solver.io.fleet_io import merge_errors, read_portfolio, variant_changes
    from solver.plan.fleet import plan_fleet
    from solver.schema.catalog import load_catalog
    from solver.schema.inventory import load_inventory

    parsed = parse_variants(variants)
    portfolio = read_portfolio(portfolio_csv)
    for n in portfolio.notices:
        click.echo(f"notice: {n}", err=True)
    catalog = load_catalog(catalog_paths)
    inventory = load_inventory(inventory_path, list(catalog.servers)) if inventory_path else None
    kw = {"max_shapes": max_shapes, "front_points": front_points, "time_limit_s": time_limit_s, "workers": workers,
          "alone": not no_alone}
    base = merge_errors(plan_fleet(portfolio.workloads, catalog, inventory, **kw).as_dict(), portfolio)
    payload = {"base": base, "variants": {}}
    for name, path in parsed:
        vcat = load_catalog((*catalog_paths, path))
        vinv = load_inventory(inventory_path, list(vcat.servers)) if inventory_path else None
        other = merge_errors(plan_fleet(portfolio.workloads, vcat, vinv, **kw).as_dict(), portfolio)
        payload["variants"][name] = {"plan": other, "changes": variant_changes(base, other)}
    _print(payload, fmt)
    if report_path:
        from solver.io.fleet_report import fleet_report

        fleet_report(payload, report_path)
        click.echo(f"report: {report_path}", err=True)
    if base["status"] == "infeasible":
        raise SystemExit(EXIT_INFEASIBLE)
    if base["status"] == "partial":
        raise SystemExit(EXIT_PARTIAL)


def _print(payload: dict, fmt: str) -> None:
    from solver.io.fleet_io import aligned, fleet_rows

    base = payload["base"]
    if fmt == "json":
        click.echo(to_json(payload))
        return
    if fmt == "yaml":
        click.echo(to_yaml(payload), nl=False)
        return
    if fmt == "csv":
        rows = [{"variant": "base", **r} for r in fleet_rows(base)]
        for name, v in payload["variants"].items():
            rows += [{"variant": name, **r} for r in fleet_rows(v["plan"])]
        click.echo(to_csv(aligned(rows)), nl=False)
        return
    cur = base["currency"]
    served = sum(1 for w in base["workloads"] if w["status"] == "served")
    click.echo(f"Fleet: {served} of {len(base['workloads'])} workloads served, {base['cost_per_hour']:.2f} {cur}/h "
               f"({base['cost_per_month']:.0f} {cur}/month, {base['mode']}); solver {base['stats']['cpsat_status']}"
               + ("" if not base["stats"].get("gap") else f", gap {100 * base['stats']['gap']:.2f}%"))
    print_table([{"server": s["server"], "gpu": s["gpu"], "owned used": s["owned_used"], base["mode"]: s["new"],
                  f"{cur}/h": s["cost_per_hour"], "GPUs used": f"{s['gpus_used']}/{s['gpus_used'] + s['idle_gpus']}",
                  "util %": s["utilisation_pct"], "kW": s["power_kw"]} for s in base["servers"]], "Servers to use")
    rows = []
    for w in base["workloads"]:
        if w["status"] != "served":
            rows.append({"workload": w["id"], "status": w["status"], "pool": w.get("reason", ""), "users": "", "TPOT ms": "",
                         "tok/s": "", f"{cur}/h in fleet": "", "alone": w.get("cost_alone_per_hour")})
            continue
        for i, p in enumerate(w["pools"]):
            layout = f"TP{p['tp']}" + (f" PP{p['pp']}" if p["pp"] > 1 else "") + (f" EP{p['ep']}" if p["ep"] > 1 else "")
            rows.append({"workload": w["id"] if i == 0 else "", "status": "served" if i == 0 else "",
                         "pool": f"{p['replicas']} x {p['gpu']} {p['engine']} {layout} on {p['server']}",
                         "users": f"{p['users']} ({p['share_pct']:g}%)", "TPOT ms": p["tpot_ms"], "tok/s": p["output_tokens_per_s"],
                         f"{cur}/h in fleet": p["cost_share_per_hour"], "alone": w.get("cost_alone_per_hour") if i == 0 else ""})
    print_table(rows, "Workloads")
    if len(base["front"]) > 1:
        print_table([{f"{cur}/h": f["cost_per_hour"], "users served": f"{f['users_served']}/{f['users_total']}",
                      "not served": ", ".join(f["not_served"]) or "-"} for f in base["front"]], "Cost vs users served")
    for name, v in payload["variants"].items():
        c = v["changes"]
        moved = ", ".join(f"{s['server']} {s['base']}->{s['variant']}" for s in c["servers_changed"]) or "none"
        delta = "" if c["delta_cost_pct"] is None else f"{c['delta_cost_pct']:+.1f}%"
        click.echo(f"variant {name}: {c['status']}, {c['cost_per_hour']:.2f} {cur}/h ({delta}); servers: {moved}; "
                   f"workloads re-planned: {', '.join(c['workloads_changed']) or 'none'}")
    for wmsg in base["warnings"]:
        click.echo(f"warning: {wmsg}", err=True)
