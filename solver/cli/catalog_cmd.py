"""`gpuplan catalog list|show|validate`."""

from __future__ import annotations

import contextlib

import click

from solver.cli.options import catalog_option, format_option
from solver.cli.render import emit, to_yaml
from solver.errors import UnknownIdError
from solver.predict.memory import token_budget_default
from solver.schema.catalog import Catalog, load_catalog

KINDS = ("gpus", "servers", "engines", "models")


def gpu_row(g) -> dict:
    t = g.dense_tflops
    return {
        "id": g.id,
        "vendor": g.vendor,
        "architecture": g.architecture,
        "memory_gb": g.memory_gb_labelled,
        "bandwidth_tbs": g.memory_bandwidth_tbs,
        "bf16_tflops": t.get("bf16"),
        "fp8_tflops": t.get("fp8"),
        "fp4_tflops": t.get("fp4"),
        "native": g.native_precisions,
        "form_factor": g.form_factor,
        "unverified": g.unverified,
    }


def server_row(s) -> dict:
    return {
        "id": s.id,
        "provider": s.provider,
        "gpu": s.gpu,
        "gpus": s.gpu_count,
        # a fast domain beyond the server (GB200 NVL72 trays) is what lets TP span servers: say so
        "interconnect": s.interconnect.kind + (f" ({s.interconnect.fast_domain_gpus}-GPU domain)"
                                               if s.interconnect.fast_domain_gpus > s.gpu_count else ""),
        "network_gbps_per_gpu": s.network.gbps_per_gpu if s.network else None,
        "price_per_hour": s.price.amount_per_hour if s.price else None,
        "currency": s.price.currency if s.price else None,
        "unverified": s.unverified,
    }


def _gpu_rules(rules: list, value: str) -> str | None:
    """An engine's defaults by GPU (Engine.scheduling's GpuRule lists), in words ('1024 on >= 70 GiB, not a100; 256')."""
    parts = []
    for r in rules:
        where = [f">= {r.min_gpu_memory_gib:g} GiB"] if r.min_gpu_memory_gib else []
        where += [f"not {n}" for n in r.except_gpus_named]
        v = getattr(r, value)
        parts.append(f"{v} on {', '.join(where)}" if where else str(v))
    return "; ".join(parts) or None


def _pool_rule(e) -> str | None:
    """An engine's cap on running requests from its KV pool, in words."""
    r = e.scheduling.max_running_from_pool if e.scheduling else None
    if r is None:
        return None
    return (f"pool tokens / context x {r.requests_per_context_of_pool:g}, {r.min_requests}-{r.max_requests}, "
            f"<= pool tokens / {r.pool_tokens_per_request:g}")


def engine_row(e) -> dict:
    p = e.parallelism
    return {
        "id": e.id,
        "name": e.name,
        "tensor_parallel": p.tensor_parallel,
        "pipeline_parallel": p.pipeline_parallel,
        "multi_server": p.multi_server,
        "expert_parallel": p.expert_parallel,
        "tp_power_of_two": p.tp_power_of_two,
        "kv_heads": p.kv_heads,
        "memory_rule": e.memory.rule if e.memory.fraction is None else f"{e.memory.rule} {e.memory.fraction}",
        "max_parallel_requests": e.max_parallel_requests if e.max_parallel_requests is not None
        else _gpu_rules(e.scheduling.max_running if e.scheduling else [], "requests") or _pool_rule(e),
        "prefill": "mixed" if e.mixes_prefill else ("own pass" if e.scheduling else "own pass (assumed)"),
        "token_budget": _gpu_rules(e.scheduling.token_budget if e.scheduling else [], "tokens") or token_budget_default(e),
    }


def model_row(m) -> dict:
    from solver.predict.memory import kv_bytes_per_token

    return {
        "id": m.id,
        "hf_repo": m.hf_repo,
        "params_b": round(m.params_total / 1e9, 2),
        "active_b": round(m.params_active / 1e9, 2),
        "layers": m.layers,
        "heads": m.attention_heads,
        "kv_heads": m.kv_heads,
        "head_dim": m.head_dim,
        # the attention and its variants: MLA+DSA, GQA+45 linear (the linear layers cache a state, not KV)
        "attention": "+".join([m.attention_type, *(["DSA"] if m.sparse_attention else []),
                               *([f"{m.linear_attention.layers} linear"] if m.linear_attention else []),
                               *([f"{m.sliding_window.local_layers} local"] if m.sliding_window else [])]),
        "moe": f"{m.moe.experts}x top-{m.moe.experts_per_token}" if m.moe else None,
        "context": m.native_context,
        "kv_kib_per_token_bf16": round(kv_bytes_per_token(m, "bf16") / 1024, 1),
    }


ROWS = {"gpus": gpu_row, "servers": server_row, "engines": engine_row, "models": model_row}


def items(cat: Catalog, kind: str) -> dict:
    return {"gpus": cat.gpus, "servers": cat.servers, "engines": cat.engines, "models": cat.models}[kind]


@click.group("catalog")
def catalog_group() -> None:
    """Inspect and validate the catalog (GPUs, servers, engines, models)."""


@catalog_group.command("list")
@click.argument("kind", type=click.Choice(KINDS))
@format_option
@catalog_option
def list_cmd(kind: str, fmt: str, catalog_paths: tuple[str, ...]) -> None:
    """List every entry of KIND."""
    cat = load_catalog(catalog_paths)
    entries = items(cat, kind)
    rows = [ROWS[kind](x) for x in entries.values()]
    emit(rows, fmt, title=f"{len(rows)} {kind}", payload=[x.model_dump(mode="json") for x in entries.values()])


@catalog_group.command("show")
@click.argument("entry_id")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@catalog_option
def show_cmd(entry_id: str, fmt: str, catalog_paths: tuple[str, ...]) -> None:
    """Show one entry (any kind) with all its fields and sources."""
    cat = load_catalog(catalog_paths)
    found = []
    for kind, getter in (("gpu", cat.gpu), ("server", cat.server), ("engine", cat.engine), ("model", cat.model)):
        with contextlib.suppress(UnknownIdError):
            found.append((kind, getter(entry_id)))
    if not found:
        every = [*cat.gpus, *cat.servers, *cat.engines, *cat.models]
        raise UnknownIdError("catalog entry", entry_id, every)
    payload = [{"kind": k, **x.model_dump(mode="json")} for k, x in found]
    payload = payload[0] if len(payload) == 1 else payload
    if fmt == "json":
        from solver.cli.render import to_json

        click.echo(to_json(payload))
    else:
        click.echo(to_yaml(payload), nl=False)


@catalog_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--no-builtin", is_flag=True, help="Validate PATHS alone, without the built-in catalog under them.")
def validate_cmd(paths: tuple[str, ...], no_builtin: bool) -> None:
    """Validate the built-in catalog merged with PATHS (overlay files or folders). Exit 0 if valid, 2 if not."""
    cat = load_catalog(paths, builtin=not no_builtin)
    counts = ", ".join(f"{len(items(cat, k))} {k}" for k in KINDS)
    click.echo(f"catalog is valid: {counts}, {len(cat.calibration)} calibration entries ({len(cat.files)} files)")
