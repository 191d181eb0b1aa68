"""`gpuplan solve` (scenario as a file or as flags mirroring its fields) and `gpuplan sizing-table`."""

from __future__ import annotations

import typing

import click

from solver.cli.options import OutputPath, catalog_option
from solver.cli.render import print_table, to_csv, to_json, to_yaml
from solver.schema.scenario import Scenario


def _flag_type(annotation) -> tuple[object, bool]:
    """(click type, is_bool) for a Scenario field annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if args and typing.get_origin(annotation) is not list else annotation
    if typing.get_origin(annotation) is typing.Literal or typing.get_origin(base) is typing.Literal:
        lits = typing.get_args(base if typing.get_origin(base) is typing.Literal else annotation)
        return click.Choice([str(x) for x in lits], case_sensitive=False), False
    if base is bool:
        return None, True
    if base is int:
        return int, False
    if base is float:
        return float, False
    return str, False


def scenario_options(func):
    """One --flag per Scenario field (lists as comma-separated values), defined from the schema."""
    for name, field in reversed(list(Scenario.model_fields.items())):
        flag = "--" + name.replace("_", "-")
        ctype, is_bool = _flag_type(field.annotation)
        default = field.get_default(call_default_factory=True)
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        help_text = (field.description or name.replace("_", " ")) + ("" if shown in (None, "", []) or field.is_required()
                                                                      else f" [default: {shown}]")
        if is_bool:
            func = click.option(flag + "/--no-" + name.replace("_", "-"), name, default=None, help=help_text)(func)
        else:
            func = click.option(flag, name, type=ctype, default=None, help=help_text)(func)
    return func


def collect(file_data: dict, flags: dict) -> dict:
    from solver.io.scenario_file import split_list

    data = dict(file_data)
    for name, value in flags.items():
        if value is None:
            continue
        field = Scenario.model_fields[name]
        if "list" in str(field.annotation):
            value = split_list(value)
        data[name] = value
    return data


COST_KEYS = {"per_hour": ("cost_per_hour", "/h"), "per_month": ("cost_per_month", "/month"),
             "per_million_tokens": ("cost_per_million_tokens", "/Mtok")}


def config_rows(front: list[dict], cost_unit: str = "per_hour", wide: bool = False) -> list[dict]:
    """The front as table rows: 120 columns by default; `wide` adds the interconnect, the memory
    headroom, the binding constraint, the monthly cost and why each is on the front."""
    key, unit = COST_KEYS[cost_unit]
    cur = next((c["currency"] for c in front if c["currency"]), None)
    rows = []
    for i, c in enumerate(front, 1):
        cost = c[key]
        row = {
            "#": f"{i}*" if c.get("recommended") else str(i),
            "servers": f"{c['servers']}x {c['server']}",
            "GPUs": f"{c['gpus']}x {c['gpu']}",
            "engine": c["engine"],
            "layout": f"TP{c['tp']}" + (f" PP{c['pp']}" if c["pp"] > 1 else "") + (f" EP{c['ep']}" if c.get("ep", 1) > 1 else "")
                      + f" x{c['replicas']}",
            f"{cur or ''}{unit}": "unknown" if cost is None else f"{cost:,.2f}",
            "tok/s": f"{c['output_tokens_per_s']:,.0f}",
            "/user": f"{c['output_tokens_per_s_per_user']:.1f}",
            "TPOT ms": f"{c['tpot_ms']:.1f}",
            "TTFT s": f"{c['ttft_ms'] / 1000:.2f}",
        }
        if wide:
            row |= {"interconnect": c["interconnect"], "idle GPUs": c["idle_gpus"], "KV free": f"{c['memory_headroom_pct']:.0f}%",
                    "binding": c["binding_constraint"],
                    f"{cur or ''}/month": "unknown" if c["cost_per_month"] is None else f"{c['cost_per_month']:,.0f}",
                    "why": c.get("why", "")}
        rows.append(row)
    return rows


def print_plan(plan, wide: bool = False) -> None:
    """The front (a table that fits 120 columns, * marks the recommendation), then the recommendation
    in words with its launch command, its assumptions and what rests on unverified facts."""
    from solver.cli.render import print_table

    sc, s = plan.scenario, plan.stats
    hidden = plan.front_total - len(plan.front)
    title = (f"{plan.model.id}: {plan.front_total}{'' if plan.front_complete else '+'} Pareto-optimal configuration(s) for "
             f"{', '.join(sc.objectives)}" + (f", {len(plan.front)} shown (--full-front: all)" if hidden or not plan.front_complete else "")
             + f"; {s['options']} options evaluated")
    print_table(config_rows(plan.front, sc.cost_unit, wide), title=title, width=None if wide else 120)
    for w in plan.warnings:
        click.echo(f"warning: {w}", err=True)
    r = plan.recommendation
    if r is None:
        return
    import textwrap

    def say(text: str, first: str = "", rest: str = "    ") -> None:
        click.echo(textwrap.fill(text, width=118, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False))

    click.echo("")
    say(r["text"], "Recommended (*): ", "  ")
    say(r["rule"], "  why this one: ")
    if r["command"]:
        click.echo(f"  launch: {r['command']}")  # one line, to copy
    for n in r["command_notes"]:
        say(n, "    - ", "      ")
    say("; ".join(r["assumptions"]), "  assumes: ")
    if r["unverified"]:
        say(", ".join(r["unverified"]), "  rests on unverified facts: ")


@click.command("solve")
@click.argument("scenario_file", required=False, type=click.Path(dir_okay=False))
@scenario_options
@click.option("--objective", "single", type=click.Choice(["cost", "throughput", "latency"], case_sensitive=False), default=None,
              help="Single objective (lexicographic tie-breaks) instead of a front.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "yaml", "csv"]), default="table", show_default=True)
@click.option("--plot", "plot_path", type=OutputPath(), default=None, help="Draw the labelled front (PNG/SVG).")
@click.option("--wide", is_flag=True, help="Table with the interconnect, memory headroom, binding constraint, monthly cost and why.")
@click.option("--mix", is_flag=True, help="Split the users across pools of different shapes (GPU types, servers, engines); "
              "the (cost, latency) front of such mixes.")
@click.option("--max-shapes", type=click.IntRange(1, 8), default=2, show_default=True, help="With --mix: distinct pool shapes at most.")
@catalog_option
def solve_cmd(scenario_file, single, fmt, plot_path, wide, mix, max_shapes, catalog_paths, **fields):
    """The Pareto-optimal configurations for one scenario (YAML file and/or flags).

    Exit 0 with a front, 3 when nothing fits (the explanation says which requirements conflict and
    the nearest relaxation), 2 on bad input.
    """
    from solver.errors import EXIT_INFEASIBLE, GpuplanError
    from solver.io.scenario_file import load_scenario_file
    from solver.plan.planner import solve
    from solver.schema.catalog import load_catalog
    from solver.schema.scenario import build_scenario

    data = collect(load_scenario_file(scenario_file) if scenario_file else {}, fields)
    if single:
        if fields.get("objectives") is not None:
            raise GpuplanError("--objective (one objective) and --objectives (a front) contradict each other: give one")
        data["objectives"] = [single]
    notices: list[str] = []
    sc = build_scenario(data, scenario_file or "scenario flags", notices)
    for n in notices:
        click.echo(f"notice: {n}", err=True)
    if mix:
        if plot_path:
            raise GpuplanError("--plot draws a single-shape front; it is not available with --mix")
        return _solve_mix(sc, load_catalog(catalog_paths), max_shapes, fmt)
    plan = solve(sc, load_catalog(catalog_paths))
    payload = plan.as_dict()
    if fmt == "json":
        click.echo(to_json(payload))
    elif fmt == "yaml":
        click.echo(to_yaml(payload), nl=False)
    elif fmt == "csv":
        flat = [{k: (to_json(v) if isinstance(v, dict | list) else v) for k, v in c.items()} for c in plan.front]
        click.echo(to_csv(flat), nl=False)
    elif plan.status == "ok":
        print_plan(plan, wide)
    if plot_path and plan.front:
        from solver.io.plots import plot_front

        plot_front(plan, plot_path)
        click.echo(f"front drawn to {plot_path}", err=True)
    if plan.status != "ok":
        e = plan.explanation
        click.echo(f"infeasible: {e['message']}", err=True)
        for s in e["suggestions"]:
            click.echo(f"  nearest relaxation: {s}", err=True)
        for r in e["reasons"][:6]:
            click.echo(f"  {r}", err=True)
        raise SystemExit(EXIT_INFEASIBLE)


@click.command("sizing-table")
@click.option("--precision", "precisions", default="fp16,fp8,fp4", show_default=True, help="Comma-separated precisions.")
@click.option("--contexts", default="8192,32768,131072", show_default=True, help="Comma-separated context lengths (tokens).")
@click.option("--sizes", default="8,14,32,70,123,235,405,671", show_default=True, help="Model sizes in billions.")
@click.option("--rule", type=click.Choice(["guide", "exact"]), default="guide", show_default=True,
              help="guide: the guide's rule on nominal sizes; exact: catalog models nearest each size, vLLM.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@catalog_option
def sizing_table_cmd(precisions, contexts, sizes, rule, fmt, catalog_paths):
    """The guide's lost table: minimum GPUs per model size x context x precision, and the server it fits."""
    from solver.io.scenario_file import split_list
    from solver.predict.sizing import sizing_rows
    from solver.schema.catalog import load_catalog
    from solver.schema.precision import parse_precision

    cat = load_catalog(catalog_paths)
    rows = sizing_rows(cat, [parse_precision(p) for p in split_list(precisions)], [int(c) for c in split_list(contexts)],
                       [float(s) for s in split_list(sizes)], rule)
    if fmt == "json":
        click.echo(to_json(rows))
    elif fmt == "csv":
        click.echo(to_csv(rows), nl=False)
    else:
        _print_sizing(rows)


SERVER_COLOURS = {"1": "green", "4": "cyan", "8": "yellow", "16": "magenta", "multi-server": "red"}


def _print_sizing(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    gpus = [k for k in rows[0] if k not in ("model", "params_b", "precision", "context", "need_gb")]
    table = Table(title="Minimum GPUs (colour: smallest server that holds them - green 1, cyan 4, yellow 8, magenta 16, red multi-server)")
    for k in ("model", "precision", "context", "need_gb", *gpus):
        table.add_column(k, justify="right" if k not in ("model", "precision") else "left")
    for r in rows:
        cells = []
        for g in gpus:
            n, cls = r[g]["gpus"], r[g]["fits_server"]
            cells.append(f"[{SERVER_COLOURS[cls]}]{r[g]['label']}[/]" if n is not None else "[red]-[/]")
        table.add_row(r["model"], r["precision"], str(r["context"]), str(r["need_gb"]), *cells)
    Console().print(table)


def _solve_mix(sc, catalog, max_shapes: int, fmt: str) -> None:
    from solver.errors import EXIT_INFEASIBLE
    from solver.plan.mix import solve_mix

    res = solve_mix(sc, catalog, max_shapes, points=50 if sc.full_front else 8)
    if fmt == "json":
        click.echo(to_json(res))
    elif fmt == "yaml":
        click.echo(to_yaml(res), nl=False)
    elif fmt == "csv":
        rows = [{"point": i + 1, **{k: v for k, v in pt.items() if k not in ("pools", "servers")}, **{f"pool_{k}": v for k, v in pool.items()}}
                for i, pt in enumerate(res["front"]) for pool in pt["pools"]]
        click.echo(to_csv(rows), nl=False)
    elif res["front"]:
        cur, lat = res["currency"], res["latency_metric"].upper()
        rows = []
        for i, pt in enumerate(res["front"]):
            for j, x in enumerate(pt["pools"]):
                layout = f"TP{x['tp']}" + (f" PP{x['pp']}" if x["pp"] > 1 else "") + (f" EP{x['ep']}" if x["ep"] > 1 else "")
                rows.append({"#": i + 1 if j == 0 else "", f"{cur}/h": pt["cost_per_hour"] if j == 0 else "",
                             f"worst {lat} ms": pt[f"{res['latency_metric']}_ms"] if j == 0 else "",
                             "tok/s": pt["output_tokens_per_s"] if j == 0 else "",
                             "pool": f"{x['replicas']} x {x['gpu']} {x['engine']} {layout} on {x['server']}",
                             "users": f"{x['users']} ({x['share_pct']:g}%)", "pool TPOT ms": x["tpot_ms"]})
        print_table(rows, f"Mixed pools (up to {res['max_shapes']} shapes): cost vs worst {lat}")
        if res["one_shape_cost_per_hour"] is not None:
            best = res["front"][0]
            click.echo(f"cheapest mix {best['cost_per_hour']:.2f} {cur}/h vs {res['one_shape_cost_per_hour']:.2f} with one shape "
                       f"({best['saving_vs_one_shape_pct']:.1f}% less)")
    if not res["front"]:
        click.echo(f"infeasible: {res['explanation'].get('message', '')}", err=True)
        raise SystemExit(EXIT_INFEASIBLE)
