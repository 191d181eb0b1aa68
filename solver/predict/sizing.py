"""Minimum GPU counts: the guide's lost table, and `gpuplan memory`.

Exact rule: the smallest GPU count n (as TP x PP with the engine's rules) whose memory plan holds the
weights and `users` sequences of `context` tokens.  Guide rule: ceil(total GB / labelled GB), with
100% of memory usable, then rounded up to a power of two for tensor parallelism (the guide's '3->4').
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solver.predict.compat import parallelism_ok, sixteen_bit_kv
from solver.predict.memory import guide_total_gb, plan_memory
from solver.schema.catalog import Catalog
from solver.schema.engine import Engine
from solver.schema.hardware import Gpu
from solver.schema.llm import LlmModel
from solver.schema.precision import Precision

MAX_GPUS = 128
SERVER_SIZES = (1, 4, 8, 16)


@dataclass(frozen=True)
class Need:
    gpu: str
    memory_gb: float
    min_gpus: int | None  # None: not within MAX_GPUS
    layout: str  # "TP4", "TP8xPP2", or the guide's "3->4"
    fits_server: str  # "1", "4", "8", "16" or "multi-server"


def server_class(n: int | None) -> str:
    if n is None:
        return "multi-server"
    for s in SERVER_SIZES:
        if n <= s:
            return str(s)
    return "multi-server"


def layouts(n: int) -> list[tuple[int, int]]:
    """(tp, pp) with tp * pp == n, TP first (lower latency), TP capped at 16."""
    return [(tp, n // tp) for tp in sorted((d for d in range(1, n + 1) if n % d == 0), reverse=True) if tp <= 16]


def min_gpus_exact(model: LlmModel, gpu: Gpu, engine: Engine, precision: Precision, kv: Precision,
                   context: int, users: int = 1) -> Need:
    n = 1
    while n <= MAX_GPUS:
        for tp, pp in layouts(n):
            if not parallelism_ok(engine, model, tp, pp, spans_servers=False).ok:
                continue
            plan = plan_memory(model, gpu, engine, precision, kv, tp, pp, users, context, context)
            if plan.fits:
                return Need(gpu.id, gpu.memory_gb_labelled, n, f"TP{tp}" + (f"xPP{pp}" if pp > 1 else ""), server_class(n))
        n *= 2
    return Need(gpu.id, gpu.memory_gb_labelled, None, "-", "multi-server")


def min_gpus_guide(total_gb: float, gpu: Gpu) -> Need:
    raw = max(1, math.ceil(total_gb / gpu.memory_gb_labelled - 1e-9))
    tp = 1 << (raw - 1).bit_length()
    return Need(gpu.id, gpu.memory_gb_labelled, tp, str(raw) if raw == tp else f"{raw}->{tp}", server_class(tp))


def sizing_gpus(catalog: Catalog) -> list[Gpu]:
    """The GPUs the guide's table compares, in the catalog (datacenter parts sold in servers)."""
    ids = ["l4-24gb", "a10-24gb", "v100s-pcie-32gb", "l40s-48gb", "a100-sxm4-80gb", "h100-sxm-80gb", "h200-sxm-141gb",
           "b200-sxm-180gb", "mi300x-192gb", "mi325x-256gb", "b300-sxm-288gb", "mi355x-288gb"]
    return [catalog.gpus[i] for i in ids if i in catalog.gpus]


def guide_need_gb(params_b: float, precision: Precision, context: int) -> tuple[float, float, float]:
    w, c = guide_total_gb(params_b, precision, context)
    return w, c, w + c


def nearest_model(catalog: Catalog, size_b: float) -> LlmModel:
    return min(catalog.models.values(), key=lambda m: (abs(m.params_nominal_b - size_b), m.id))


def sizing_rows(catalog: Catalog, precisions: list[Precision], contexts: list[int], sizes: list[float], rule: str) -> list[dict]:
    """Rows of the sizing table; each GPU column holds {gpus, label, fits_server}."""
    gpus = sizing_gpus(catalog)
    engine = catalog.engines["vllm"]
    rows = []
    for size in sizes:
        model = nearest_model(catalog, size) if rule == "exact" else None
        for p in precisions:
            for ctx in contexts:
                row: dict = {"model": model.id if model else f"{size:g}B", "params_b": model.params_nominal_b if model else size,
                             "precision": p.value, "context": ctx}
                if rule == "guide":
                    _, _, total = guide_need_gb(size, p, ctx)
                    row["need_gb"] = round(total, 1)
                    needs = [min_gpus_guide(total, g) for g in gpus]
                else:
                    from solver.predict.memory import GIB, sequence_bytes, weight_bytes

                    kv = sixteen_bit_kv(p)
                    row["need_gb"] = round((weight_bytes(model, p) + sequence_bytes(model, kv, ctx)) / GIB, 1)
                    needs = [min_gpus_exact(model, g, engine, p, kv, ctx) for g in gpus]
                for g, n in zip(gpus, needs, strict=True):
                    row[g.id] = {"gpus": n.min_gpus, "label": n.layout if rule == "guide" else (str(n.min_gpus) if n.min_gpus else "-"),
                                 "fits_server": n.fits_server}
                rows.append(row)
    return rows
