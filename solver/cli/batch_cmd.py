"""`gpuplan batch` and `gpuplan whatif`."""

from __future__ import annotations

import click

from solver.cli.options import OutputPath, catalog_option, parse_variants

executor_options = [
    click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True, help="Parallel workers (processes or Ray CPUs)."),
    click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="Where chunks run."),
    click.option("--ray-address", default=None, help="Ray cluster address (default: start a local Ray with --workers CPUs)."),
]


def with_executor(f):
    for opt in reversed(executor_options):
        f = opt(f)
    return f


@click.command("batch")
@click.argument("scenarios_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=OutputPath(), help="results.csv: one row per input row, in order.")
@click.option("--fronts", type=OutputPath(), default=None, help="fronts.jsonl: every front in full.")
@with_executor
@click.option("--resume", is_flag=True, help="Finish an interrupted run (keeps the complete rows already written).")
@click.option("--report", "report_path", type=OutputPath(), default=None, help="Self-contained HTML report.")
@catalog_option
def batch_cmd(scenarios_csv, output, fronts, workers, executor, ray_address, resume, report_path, catalog_paths):
    """Solve every scenario of a CSV (columns = scenario fields, lists ';'-separated).

    Exit 0 if every row was solved, 4 if some rows are infeasible or in error (their reason is in the
    output), 2 on a bad header or catalog.
    """
    from solver.errors import EXIT_PARTIAL
    from solver.io.batch import run_batch

    s = run_batch(scenarios_csv, output, fronts, workers, executor, ray_address, resume, tuple(catalog_paths))
    for n in s.notices:
        click.echo(f"notice: {n}", err=True)
    rate = (s.rows / s.seconds) if s.seconds else 0.0
    click.echo(f"{s.rows + s.resumed} rows ({s.resumed} resumed): {s.ok} ok, {s.infeasible} infeasible, {s.error} error "
               f"in {s.seconds:.1f} s ({rate:.1f} rows/s) -> {output}", err=True)
    if s.chosen_gpus:
        top = sorted(s.chosen_gpus.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        click.echo("cheapest GPU chosen: " + ", ".join(f"{g} x{n}" for g, n in top), err=True)
    if report_path:
        from solver.io.report import batch_report

        batch_report(output, fronts, report_path)
        click.echo(f"report: {report_path}", err=True)
    if s.failed:
        raise SystemExit(EXIT_PARTIAL)


@click.command("whatif")
@click.argument("scenarios_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--variant", "variants", multiple=True, required=True, metavar="NAME=OVERLAY.yaml",
              help="A catalog variant (overlay over the base catalog); repeatable.")
@click.option("-o", "--output", required=True, type=OutputPath(), help="whatif.csv (a summary goes to <output>.summary.csv).")
@with_executor
@click.option("--report", "report_path", type=OutputPath(), default=None, help="Self-contained HTML report.")
@catalog_option
def whatif_cmd(scenarios_csv, variants, output, workers, executor, ray_address, report_path, catalog_paths):
    """Cheapest configuration of every scenario under the base catalog and each variant, with the deltas."""
    from solver.errors import EXIT_PARTIAL
    from solver.io.whatif import run_whatif

    parsed = parse_variants(variants)
    summary = run_whatif(scenarios_csv, parsed, output, workers, executor, ray_address, tuple(catalog_paths))
    for row in summary["variants"]:
        click.echo(f"{row['variant']}: total {row['total_cost_per_hour']} {row['currency']}/h over {row['feasible']} feasible "
                   f"scenarios (base {row['base_total_cost_per_hour']}); choice changed {row['choice_changed']}, "
                   f"became feasible {row['became_feasible']}, became infeasible {row['became_infeasible']}", err=True)
    if report_path:
        from solver.io.report import whatif_report

        whatif_report(output, report_path)
        click.echo(f"report: {report_path}", err=True)
    if summary["failed"]:
        raise SystemExit(EXIT_PARTIAL)
