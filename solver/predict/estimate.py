"""One fixed configuration end to end: compatibility, memory, speed, and an error band.

`estimate()` is what `gpuplan estimate` prints and what the planner evaluates for every candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from solver.predict.compat import engine_runs, features_ok, kv_precision_ok, parallelism_ok, precision_path
from solver.predict.fabric import fabric_of, in_fast_domain
from solver.predict.memory import MemoryPlan, plan_memory, token_budget
from solver.predict.speed import Perf, predict
from solver.schema.calibration import PerfFactors
from solver.schema.catalog import Catalog
from solver.schema.engine import Engine
from solver.schema.hardware import Gpu, Server
from solver.schema.llm import LlmModel
from solver.schema.precision import Precision

FABRIC_RANK = {"nvswitch": 0, "nvlink_mesh": 1, "infinity_fabric": 2, "roce_mesh": 3, "nvlink_bridge": 4, "pcie": 5, "none": 6}
EXTRAPOLATED_WIDEN = 2.0  # error band multiplier (log space) where no measurement covers engine x GPU class


def band_factors(factors: PerfFactors, exact: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    """(TTFT low/high, TPOT low/high) multipliers of an estimate; widened where no measurement covers it,
    unless the band was measured on GPUs left out of the fit (band_basis)."""
    w = 1.0 if exact or factors.band_basis == "leave-one-GPU-out" else EXTRAPOLATED_WIDEN
    (a, b), (c, d) = factors.ttft_log_band, factors.tpot_log_band
    return (math.exp(a * w), math.exp(b * w)), (math.exp(c * w), math.exp(d * w))


def default_server(catalog: Catalog, gpu: Gpu, gpus: int) -> Server:
    """The catalog server with this GPU that hosts `gpus` GPUs on the best fabric (or the largest one)."""
    same = catalog.servers_by_gpu.get(gpu.id, [])
    if not same:
        from solver.errors import GpuplanError

        raise GpuplanError(f"no server in the catalog carries {gpu.id}; add one with an overlay (--catalog)")
    fitting = [s for s in same if s.gpu_count >= gpus]
    if fitting:
        return min(fitting, key=lambda s: (FABRIC_RANK[s.interconnect.kind] if gpus > 1 else 0, s.gpu_count, s.network is None, s.id))
    return min(same, key=lambda s: (s.network is None, -s.gpu_count, FABRIC_RANK[s.interconnect.kind], s.id))


@dataclass
class Estimate:
    model: str
    gpu: str
    engine: str
    server: str
    interconnect: str
    precision: str
    precision_path: str
    kv_precision: str
    tp: int
    pp: int
    gpus: int
    servers: int
    concurrency: int
    input_len: int
    output_len: int
    parallel_requests: int | None  # the engine's cap on requests served at once (None: what the KV cache holds)
    prefill_mixed: bool  # the engine runs prefill chunks inside decode steps (Engine.mixes_prefill)
    prefill_chunk_tokens: int  # the engine's tokens per forward pass on this GPU (memory.token_budget)
    expert_parallel: int  # GPUs the routed experts are spread over whole (EP degree; 1: each expert split by TP)
    fits: bool
    reason: str | None
    memory: MemoryPlan | None
    perf: Perf | None
    factors: PerfFactors | None
    calibrated: bool
    notes: list[str] = field(default_factory=list)

    def band(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return band_factors(self.factors, self.calibrated)

    def as_dict(self) -> dict:
        r2 = lambda x: None if x is None else round(x, 2)  # noqa: E731
        out: dict = {
            "fits": self.fits,
            "reason": self.reason,
            "model": self.model,
            "gpu": self.gpu,
            "engine": self.engine,
            "server": self.server,
            "interconnect": self.interconnect,
            "precision": self.precision,
            "precision_path": self.precision_path,
            "kv_precision": self.kv_precision,
            "tp": self.tp,
            "pp": self.pp,
            "ep": self.expert_parallel,
            "gpus": self.gpus,
            "servers": self.servers,
            "concurrency": self.concurrency,
            "input_len": self.input_len,
            "output_len": self.output_len,
            "parallel_requests": self.parallel_requests,
            "prefill_mixed_into_decode": self.prefill_mixed,
            "prefill_chunk_tokens": self.prefill_chunk_tokens,
            "max_concurrency": self.memory.max_concurrency if self.memory else 0,
            "memory_gib": self.memory.as_dict() if self.memory else None,
        }
        p = self.perf
        if p is None:
            out.update({k: None for k in ("ttft_ms", "tpot_ms", "output_tokens_per_s", "output_tokens_per_s_per_gpu",
                                          "output_tokens_per_s_per_user", "bound", "range")})
        else:
            (tl, th), (pl, ph) = self.band()
            out.update({
                "ttft_ms": r2(p.ttft_ms),
                "tpot_ms": r2(p.tpot_ms),
                "output_tokens_per_s": r2(p.output_tokens_per_s),
                "output_tokens_per_s_per_gpu": r2(p.output_tokens_per_s / self.gpus),
                "output_tokens_per_s_per_user": r2(p.per_user_tokens_per_s),
                "bound": "memory capacity" if not self.fits else p.bound,
                "range": {
                    "ttft_ms": [r2(p.ttft_ms * tl), r2(p.ttft_ms * th)],
                    "tpot_ms": [r2(p.tpot_ms * pl), r2(p.tpot_ms * ph)],
                    "output_tokens_per_s": [r2(p.output_tokens_per_s / ph), r2(p.output_tokens_per_s / pl)],
                },
                "breakdown_ms": {
                    "decode_memory": r2(p.decode_mem_ms),
                    "decode_compute": r2(p.decode_compute_ms),
                    "decode_interconnect": r2(p.decode_comm_ms),
                    "prefill": r2(p.prefill_ms),
                    "prefill_share": round(p.prefill_share, 3),
                },
            })
        out["calibration"] = {
            "factors": self.factors.id if self.factors else None,
            "band": "measured" if self.calibrated else (
                "extrapolated (no measurement for this engine and GPU class; band from GPUs left out of the fit)"
                if self.factors and self.factors.band_basis == "leave-one-GPU-out"
                else "extrapolated (no measurement for this engine and GPU class; band widened)"),
            "measured_points": self.factors.measured_points if self.factors else 0,
            # how bursty the arrivals behind the TTFT are: this GPU's measurements' own, or the engine's
            "burst_factor": self.factors.burst_for(self.gpu) if self.factors else None,
            "burst_factor_of": ("this GPU" if self.factors and self.gpu in self.factors.burst_factor_by_gpu
                                else "the engine") if self.factors else None,
        }
        out["notes"] = self.notes
        return out


@dataclass(frozen=True)
class Prepared:
    """The part of an estimate that no efficiency factor changes: compatibility, server, memory plan.

    The calibration fit evaluates the same measured configurations hundreds of times with different
    factors; it prepares each once and runs it per evaluation (`run`)."""

    base: dict
    speed_args: tuple | None  # perf.predict's arguments before the factors; None when nothing runs
    parallel: int | None
    path: str
    fits: bool
    reason: str | None
    memory: MemoryPlan | None
    notes: tuple[str, ...]

    def run(self, factors: PerfFactors, calibrated: bool) -> Estimate:
        perf = None if self.speed_args is None else predict(*self.speed_args, factors, self.parallel, self.base["prefill_mixed"],
                                                                  self.base["prefill_chunk_tokens"], self.base["expert_parallel"])
        return Estimate(**self.base, precision_path=self.path, fits=self.fits, reason=self.reason, memory=self.memory,
                        perf=perf, factors=factors, calibrated=calibrated, notes=list(self.notes))


def prepare(
    catalog: Catalog,
    model: LlmModel,
    gpu: Gpu,
    engine: Engine,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    pp: int,
    input_len: int,
    output_len: int,
    concurrency: int,
    context: int | None = None,
    server: Server | None = None,
    memory_rule: str = "exact",
    expert_parallel: int = 1,
) -> Prepared:
    """Everything of `estimate` before the speed model: the configuration checks, the server, the memory plan."""
    gpus = tp * pp
    server = server or default_server(catalog, gpu, gpus)
    servers = max(1, math.ceil(gpus / server.gpu_count))
    context = context or (input_len + output_len)
    base = dict(model=model.id, gpu=gpu.id, engine=engine.id, server=server.id, interconnect=server.interconnect.kind,
                precision=precision.value, kv_precision=kv_precision.value, tp=tp, pp=pp, gpus=gpus, servers=servers,
                concurrency=concurrency, input_len=input_len, output_len=output_len,
                parallel_requests=engine.running_cap(gpu), prefill_mixed=engine.mixes_prefill, prefill_chunk_tokens=token_budget(engine, gpu),
                expert_parallel=expert_parallel)
    notes: list[str] = []

    path, why = precision_path(engine, gpu, precision)  # reported with any refusal below, whatever refused

    def reject(reason: str) -> Prepared:
        return Prepared(base, None, None, path, False, reason, None, tuple(notes))

    # the model's layer kinds the engine must implement on this hardware (as a plan needs them)
    for verdict in (engine_runs(engine, gpu), features_ok(engine, gpu, list(model.layer_features)),
                    parallelism_ok(engine, model, tp, pp, servers > 1)):
        if not verdict.ok:
            return reject(verdict.reason)
    if expert_parallel > 1 and (model.moe is None or tp % expert_parallel or model.moe.experts % expert_parallel):
        return reject(f"expert parallelism {expert_parallel} needs a MoE model whose experts and TP ({tp}) it divides")
    ic = server.interconnect
    if servers > 1 and server.network is None and not in_fast_domain(ic.kind, ic.fast_domain_gpus, gpus):
        return reject(f"{gpus} GPUs need {servers} servers of {server.id}, whose inter-server network is not documented")
    if path == "unsupported":
        return reject(why)
    verdict = kv_precision_ok(engine, gpu, kv_precision)
    if not verdict.ok:
        return reject(verdict.reason)
    if why:
        notes.append(why)
    seq = input_len + output_len
    mem = plan_memory(model, gpu, engine, precision, kv_precision, tp, pp, concurrency, seq, context, memory_rule)
    cap = base["parallel_requests"] = mem.running_cap  # now with the pool known (SGLang derives its cap from it)
    speed_args, parallel = None, None
    if mem.max_concurrency >= 1:
        # beyond what memory holds, the engine queues requests (vLLM/SGLang/TRT-LLM scheduler waiting queue)
        parallel = mem.max_concurrency if concurrency > mem.max_concurrency else cap
        speed_args = (model, gpu, fabric_of(server, gpu), precision, path == "native", kv_precision, tp, pp,
                      concurrency, input_len, output_len)
    if cap is not None and concurrency > cap:
        notes.append(f"{engine.name} serves {cap} request(s) at a time on {gpu.name}; the others queue")
    return Prepared(base, speed_args, parallel, path, mem.fits, mem.reason, mem, tuple(notes))


def estimate(catalog: Catalog, *args: Any, **kwargs: Any) -> Estimate:
    """Memory and speed of one replica with `concurrency` users of `input_len` + `output_len` tokens;
    the arguments are `prepare`'s (not repeated here: one signature to keep), the factors the
    catalog's for the engine and GPU class."""
    from solver.predict.attainable import factors_for, off_fit, sibling_widening

    prepared = prepare(catalog, *args, **kwargs)
    gpu = catalog.gpus[prepared.base["gpu"]]
    factors, exact = factors_for(catalog, prepared.base["engine"], gpu, Precision(prepared.base["precision"]))
    est = prepared.run(factors, exact)
    w = sibling_widening(catalog, gpu)
    if w > 0 and off_fit(factors, gpu):
        est.notes.append(f"{gpu.id}'s attainable {', '.join(gpu.attainable.borrowed)} rate(s) are an architecture sibling's "
                         f"(unverified): its band is x{math.exp(w):.2f} wider on each side")
    return est


def estimate_named(
    model: str,
    gpu: str,
    *,
    tp: int = 1,
    pp: int = 1,
    ep: int = 1,
    precision: str | Precision = "bf16",
    kv_precision: str | Precision | None = None,
    engine: str = "vllm",
    server: str | None = None,
    input_len: int = 1024,
    output_len: int = 256,
    concurrency: int = 1,
    context: int | None = None,
    parallel_requests: int | None = None,
    catalog: Catalog | None = None,
) -> Estimate:
    """Memory and speed of one fixed configuration, by catalog ids: what `gpuplan estimate` runs.

    model:             catalog id, alias or Hugging Face name, or a parameter count such as "70b"
    gpu:               GPU id or alias (e.g. "h100-sxm")
    tp, pp, ep:        tensor-, pipeline- and expert-parallel degrees (ep divides tp and the expert count)
    precision:         weight precision (fp32, fp16, bf16, fp8, int8, int4, fp4; aliases accepted)
    kv_precision:      KV-cache precision; None: 16-bit (bf16, or fp16 where the engine or GPU has no bf16)
    engine:            inference server id
    server:            server id whose interconnect to assume; None: the best catalog server with that GPU
    input_len, output_len: prompt and generated tokens per request
    concurrency:       requests in flight on the replica
    context:           longest sequence to hold (None: input_len + output_len)
    parallel_requests: requests the engine runs at once (the others queue); None: the engine's own cap
    catalog:           a loaded catalog (solver.load_catalog); None: the built-in one

    Not fitting is an answer: `Estimate.fits` is False with `reason`.  Unknown ids raise UnknownIdError
    with the nearest valid names."""
    from solver.errors import GpuplanError
    from solver.predict.compat import kv_precision_for
    from solver.schema.catalog import load_catalog
    from solver.schema.precision import parse_precision
    from solver.schema.resolve import resolve_model

    cat = catalog if catalog is not None else load_catalog()
    llm, _ = resolve_model(cat, model)
    g = cat.gpu(gpu)
    srv = cat.server(server) if server else None
    if srv is not None and srv.gpu != g.id:
        raise GpuplanError(f"server {srv.id} carries {srv.gpu}, not {g.id}")
    eng = cat.engine(engine)
    if parallel_requests is not None:
        eng = eng.model_copy(update={"max_parallel_requests": parallel_requests})
    prec = precision if isinstance(precision, Precision) else parse_precision(precision)
    kv = kv_precision if kv_precision is None or isinstance(kv_precision, Precision) else parse_precision(kv_precision)
    return estimate(cat, llm, g, eng, prec, kv_precision_for(eng, g, prec, kv), tp, pp, input_len, output_len,
                    concurrency, context, srv, expert_parallel=ep)
