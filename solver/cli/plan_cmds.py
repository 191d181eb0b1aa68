"""Planning commands: memory, estimate, calibrate, solve, sizing-table (registered on the main group)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from solver.cli.options import OutputPath, catalog_option
from solver.cli.render import emit, print_table, to_json
from solver.errors import GpuplanError
from solver.schema.precision import parse_precision


def _precision(ctx, param, value):  # click callback
    if value is None:
        return None
    try:
        return parse_precision(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


precision_opt = click.option("--precision", callback=_precision, default="bf16", show_default=True,
                             help="Weight precision: fp32, fp16, bf16, fp8, int8, int4, fp4.")
kv_opt = click.option("--kv-precision", callback=_precision, default=None,
                      help="KV-cache precision (default: 16-bit - bf16, or fp16 with fp16 weights or where the engine or GPU has no bf16).")


@click.command("memory")
@click.option("--model", required=True, help="Catalog id, Hugging Face name, or a parameter count such as 70b.")
@click.option("--context-tokens", "context", type=click.IntRange(1), required=True, help="Context length in tokens (e.g. 128000).")
@precision_opt
@kv_opt
@click.option("--memory-rule", "rule", type=click.Choice(["exact", "guide"], case_sensitive=False), default="exact", show_default=True,
              help="exact: architecture-aware; guide: params x factor + tokens x 0.5 MB.")
@click.option("--engine", default="vllm", show_default=True, help="Engine whose memory rule applies (exact rule).")
@click.option("--users", type=click.IntRange(1), default=1, show_default=True, help="Sequences of full context held at once.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@catalog_option
def memory_cmd(model, context, precision, kv_precision, rule, engine, users, as_json, catalog_paths):
    """Memory a model needs and the minimum number of each catalog GPU to hold it."""
    from solver.predict.compat import sixteen_bit_kv
    from solver.predict.memory import GIB, sequence_bytes, weight_bytes
    from solver.predict.sizing import guide_need_gb, min_gpus_exact, min_gpus_guide
    from solver.schema.catalog import load_catalog
    from solver.schema.resolve import resolve_model

    cat = load_catalog(catalog_paths)
    llm, known = resolve_model(cat, model)
    kv = kv_precision or sixteen_bit_kv(precision)  # bytes are the same for either 16-bit format
    if not known and rule == "exact":
        rule = "guide"
        click.echo(f"note: {llm.name}: the architecture is unknown, so the guide's rule applies", err=True)
    gpus = list(cat.gpus.values())
    if rule == "guide":
        w, c, total = guide_need_gb(llm.params_nominal_b, precision, context)
        summary = {"rule": "guide", "model": llm.id, "params_b": llm.params_nominal_b, "precision": precision.value,
                   "context_tokens": context, "weights_gb": round(w, 2), "context_gb": round(c * users, 2),
                   "total_gb": round(w + c * users, 2),
                   "formula": "params(B) x precision factor + context tokens x 0.5 MB / 1024 (per user)"}
        needs = [min_gpus_guide(w + c * users, g) for g in gpus]
    else:
        eng = cat.engine(engine)
        wgib = weight_bytes(llm, precision) / GIB
        kvgib = sequence_bytes(llm, kv, context) * users / GIB  # with any linear-attention state
        summary = {"rule": "exact", "model": llm.id, "precision": precision.value, "kv_precision": kv.value,
                   "context_tokens": context, "users": users, "engine": eng.id, "weights_gib": round(wgib, 2),
                   "kv_cache_gib": round(kvgib, 2), "total_before_overheads_gib": round(wgib + kvgib, 2)}
        needs = [min_gpus_exact(llm, g, eng, precision, kv, context, users) for g in gpus]
    rows = [{"gpu": n.gpu, "memory_gb": n.memory_gb, "min_gpus": n.min_gpus, "layout": n.layout, "fits_server": n.fits_server}
            for n in needs]
    if as_json:
        click.echo(to_json({**summary, "gpus": rows}))
        return
    for k, v in summary.items():
        click.echo(f"{k:>28}: {v}")
    print_table(rows, title="minimum GPUs to hold it")


@click.command("estimate")
@click.option("--model", required=True, help="Catalog id or Hugging Face name (or a parameter count).")
@click.option("--gpu", required=True, help="GPU id or alias, e.g. h100-sxm.")
@click.option("--tp", type=click.IntRange(1, 128), default=1, show_default=True, help="Tensor-parallel degree.")
@click.option("--pp", type=click.IntRange(1, 64), default=1, show_default=True, help="Pipeline-parallel degree.")
@click.option("--ep", type=click.IntRange(1, 128), default=1, show_default=True,
              help="Expert-parallel degree of a MoE model: its routed experts spread whole over EP of the TP GPUs "
                   "(it divides TP and the expert count); 1 splits every expert by TP.")
@precision_opt
@kv_opt
@click.option("--engine", default="vllm", show_default=True, help="Inference server id.")
@click.option("--server", default=None, help="Server id whose interconnect to assume (default: best catalog server with that GPU).")
@click.option("--input-tokens", "input_len", type=click.IntRange(1), default=1024, show_default=True, help="Prompt tokens per request.")
@click.option("--output-tokens", "output_len", type=click.IntRange(1), default=256, show_default=True, help="Generated tokens per request.")
@click.option("--users", "concurrency", type=click.IntRange(1), default=1, show_default=True, help="Requests in flight on the replica.")
@click.option("--context-tokens", "context", type=click.IntRange(1), default=None, help="Longest sequence to hold (default input+output).")
@click.option("--parallel-requests", type=click.IntRange(1), default=None,
              help="Requests the engine serves at once; the others queue (Ollama's OLLAMA_NUM_PARALLEL, vLLM's "
                   "--max-num-seqs, SGLang's --max-running-requests, TensorRT-LLM's max_batch_size).  Default: the "
                   "engine's own - Ollama 1, vLLM 1,024 on GPUs of 70 GiB or more (not A100) and 256 below, "
                   "the others as many as the KV cache holds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the documented contract).")
@catalog_option
def estimate_cmd(model, gpu, tp, pp, ep, precision, kv_precision, engine, server, input_len, output_len, concurrency,
                 context, parallel_requests, as_json, catalog_paths):
    """Memory and speed of one fixed configuration, with an error band. Not fitting is an answer (exit 0)."""
    from solver.predict.estimate import estimate_named
    from solver.schema.catalog import load_catalog

    est = estimate_named(model, gpu, tp=tp, pp=pp, ep=ep, precision=precision, kv_precision=kv_precision, engine=engine,
                         server=server, input_len=input_len, output_len=output_len, concurrency=concurrency,
                         context=context, parallel_requests=parallel_requests, catalog=load_catalog(catalog_paths))
    d = est.as_dict()
    if as_json:
        click.echo(to_json(d))
        return
    click.echo(f"{d['model']} on {d['gpus']}x {d['gpu']} ({d['server']}, {d['interconnect']}), {d['engine']}, "
               f"{d['precision']} ({d['precision_path']}) weights, {d['kv_precision']} KV, TP{tp} PP{pp}" + (f" EP{ep}" if ep > 1 else ""))
    click.echo(f"fits: {d['fits']}" + (f" - {d['reason']}" if d["reason"] else "") + f"; max concurrency {d['max_concurrency']}")
    if d["memory_gib"]:
        print_table([{k: v for k, v in d["memory_gib"].items()}], title="memory per GPU (GiB)")
    if d["tpot_ms"] is not None:
        r = d["range"]
        print_table([
            {"metric": "TTFT ms", "value": d["ttft_ms"], "range": r["ttft_ms"]},
            {"metric": "TPOT ms", "value": d["tpot_ms"], "range": r["tpot_ms"]},
            {"metric": "output tokens/s", "value": d["output_tokens_per_s"], "range": r["output_tokens_per_s"]},
            {"metric": "tokens/s per GPU", "value": d["output_tokens_per_s_per_gpu"], "range": ""},
            {"metric": "tokens/s per user", "value": d["output_tokens_per_s_per_user"], "range": ""},
        ], title=f"speed at {concurrency} concurrent - bound: {d['bound']}; band: {d['calibration']['band']}; "
                 f"burst factor {d['calibration']['burst_factor']:.3g} ({d['calibration']['burst_factor_of']}'s); prefill "
                 + ("mixed into decode steps" if d["prefill_mixed_into_decode"] else "in passes of its own")
                 + f", chunks of {d['prefill_chunk_tokens']:,} tokens")
    for n in d["notes"]:
        click.echo(f"note: {n}")


def skip_summary(skipped: list[str], kinds: int = 12) -> list[tuple[int, str]]:
    """The skip reasons grouped by kind (the reason with its row and numbers blanked), most frequent
    first: (count, the first row of that kind); the kinds beyond `kinds` merged into one line."""
    groups: dict[str, list[str]] = {}
    for s in skipped:
        reason = s.split(": ", 1)[-1]  # drop "path:line"
        groups.setdefault(re.sub(r"\d+(?:\.\d+)?", "#", reason), []).append(s)
    ranked = sorted(groups.values(), key=lambda g: -len(g))
    out = [(len(g), g[0]) for g in ranked[:kinds]]
    rest = sum(len(g) for g in ranked[kinds:])
    if rest:
        out.append((rest, f"rows of {len(ranked) - kinds} other kinds"))
    return out


@click.command("calibrate")
@click.argument("measurements", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=OutputPath(path_type=Path), required=True,
              help="Catalog overlay to write (use it with --catalog).")
@catalog_option
def calibrate_cmd(measurements, output, catalog_paths):
    """Fit the performance model's efficiency factors on your own benchmark rows.

    MEASUREMENTS is a CSV with columns model, gpu, engine, precision, tp, concurrency, input_len,
    output_len, ttft_ms, tpot_ms (optional: kv_precision, pp), or aiconfigurator's silicon_sample.csv.
    Skipped, each with its reason (printed as a count per kind with its first row): rows that cannot
    be read or mapped, rows whose TPOT is too fast or TTFT too slow for the users they state all
    running at once, and repeats of an earlier row (same configuration, TTFT and TPOT): one run
    counts once.  The error bands are +- the 90th percentile of |ln(measured/predicted)| of the
    models, each left out of the fit in turn (one model measured: of the fit's own residuals).  An
    engine measured on several GPUs of a class gets a burst factor per GPU (burst_factor_by_gpu).
    """
    from solver.io.files import write_text
    from solver.predict.calibration import fit_all, overlay_yaml, read_measurements
    from solver.schema.catalog import load_catalog

    cat = load_catalog(catalog_paths)
    rows, skipped = read_measurements(measurements, cat)
    click.echo(f"{len(rows)} usable rows, {len(skipped)} skipped", err=True)
    for n, example in skip_summary(skipped):
        click.echo(f"  {n} x {example}", err=True)
    if not rows:
        why = f"{len(skipped)} rows skipped, reasons above" if skipped else "the file has no data rows"
        raise GpuplanError(f"{measurements}: no usable measurement to fit ({why})")
    factors = fit_all(cat, rows, f"gpuplan calibrate {measurements.name} ({len(rows)} rows)")
    header = (f"# Written by `gpuplan calibrate {measurements}`: fitted factors of the performance model.\n"
              "# Use with --catalog; entries override the built-in calibration by id.\n")
    write_text(output, overlay_yaml(factors, header))
    emit([{"id": f.id, "points": f.measured_points, "bw_eff": f.bandwidth_efficiency, "kv_eff": f.kv_bandwidth_efficiency,
           "prefill_eff": f.compute_efficiency_prefill, "moe_prefill_eff": f.moe_prefill_efficiency,
           "layer_us": f.layer_overhead_us, "dsa_layer_us": f.sparse_layer_overhead_us,
           "linear_layer_us": f.linear_layer_overhead_us,
           "burst": "; ".join([f"{f.burst_factor:g}", *(f"{g} {v:g}" for g, v in f.burst_factor_by_gpu.items())]),
           "tpot_band": list(f.tpot_log_band), "ttft_band": list(f.ttft_log_band)} for f in factors],
         "table", title=f"wrote {output}")


def register(group: click.Group) -> None:
    """Attach the planning commands to `group`."""
    from solver.cli.batch_cmd import batch_cmd, whatif_cmd
    from solver.cli.fleet_cmd import fleet_cmd
    from solver.cli.solve_cmd import sizing_table_cmd, solve_cmd

    for cmd in (memory_cmd, estimate_cmd, calibrate_cmd, solve_cmd, sizing_table_cmd, batch_cmd, whatif_cmd, fleet_cmd):
        group.add_command(cmd)
