"""Measurements in, fitted efficiency factors out (`gpuplan calibrate`).

Accepted CSV formats (header decides):
1. gpuplan's own: model, gpu, engine, precision, kv_precision, tp, pp, concurrency, input_len,
   output_len, ttft_ms, tpot_ms  (ids or aliases from the catalog; kv_precision and pp optional);
2. aiconfigurator's `silicon_sample.csv` columns (backend, model_path, system, gemm_quant_mode,
   batch_size, tp_size, pp_size, isl, osl, silicon_ttft_ms, silicon_tpot_ms, mode, attention_dp_size).
   Only aggregated serving (`mode=agg`) without attention data-parallelism is used; the KV-cache
   format, which the dataset does not record, is set by `_aic_kv_precision`.
A row whose TPOT is below `tpot_floor_ms`, or whose TTFT is above `ttft_ceiling_ms`, is skipped with
that reason: its stated concurrency was never running at once.  A row repeating an earlier one (same configuration, TTFT and TPOT equal to 9
significant digits) is skipped too: one run exported twice.

The fit minimises squared log errors of TPOT and TTFT (scipy.optimize.least_squares) over the
factors of `PerfFactors`; the error band is +-the 90th percentile of the absolute log residuals of
models left out of the fit (cross_validated_bands), or of the fit's own residuals when one model was
measured.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from solver.catalog import Catalog
from solver.errors import GpuplanError, UnknownIdError
from solver.estimate import Prepared, prepare
from solver.schema.calibration import PerfFactors
from solver.schema.llm import LlmModel
from solver.schema.precision import Precision, parse_precision

OWN_COLUMNS = ("model", "gpu", "engine", "precision", "tp", "concurrency", "input_len", "output_len", "ttft_ms", "tpot_ms")
AIC_COLUMNS = ("backend", "model_path", "system", "gemm_quant_mode", "batch_size", "tp_size", "isl", "osl",
               "silicon_ttft_ms", "silicon_tpot_ms")
AIC_ENGINE = {"trtllm": "tensorrt-llm", "vllm": "vllm", "sglang": "sglang"}
AIC_GPU = {"h100_sxm": "h100-sxm-80gb", "h200_sxm": "h200-sxm-141gb", "b200_sxm": "b200-sxm-180gb",
           "a100_sxm": "a100-sxm4-80gb", "gb200_sxm": "gb200-186gb"}
AIC_PRECISION = {"": Precision.bf16, "bf16": Precision.bf16, "fp16": Precision.fp16, "fp8": Precision.fp8,
                 "fp8_block": Precision.fp8, "nvfp4": Precision.fp4, "mxfp4": Precision.fp4, "int4_wo": Precision.int4,
                 "int8_wo": Precision.int8}
class ParamSpec(NamedTuple):
    start: float  # where the fits start
    lower: float
    upper: float
    scale: float  # the fit works on value / scale, so that overheads and efficiencies share a scale


#: every fitted factor of PerfFactors.  Two bounds are modelling choices (docs/model.md, "Calibration"):
#: weight streaming reaches at most 90% of the nominal HBM bandwidth, and a decode step's GEMMs at least
#: half the dense peak.  Fitted on the online measurements alone (up to 128-512 users), the decode
#: efficiency falls to 0.1-0.14, carrying per-sequence costs as GEMM FLOPs, and large batches come out
#: 1.5-3x slower than the published TensorRT-LLM offline throughput (benchmarks/published.py); with the
#: floor, the KV-read efficiency carries them instead.
SPEC: dict[str, ParamSpec] = {
    "bandwidth_efficiency": ParamSpec(0.7, 0.05, 0.9, 1.0),
    "compute_efficiency_decode": ParamSpec(0.55, 0.5, 1.0, 1.0),
    "compute_efficiency_prefill": ParamSpec(0.5, 0.02, 1.0, 1.0),
    "layer_overhead_us": ParamSpec(50.0, 0.0, 1000.0, 50.0),
    "prefill_overhead_ms": ParamSpec(30.0, 0.0, 2000.0, 100.0),
    "moe_efficiency": ParamSpec(1.0, 0.1, 2.0, 1.0),
    "burst_factor": ParamSpec(0.05, 0.0, 1.0, 0.1),
    "kv_bandwidth_efficiency": ParamSpec(0.7, 0.05, 2.0, 1.0),
    "moe_prefill_efficiency": ParamSpec(0.7, 0.05, 2.0, 1.0),
    "sparse_layer_overhead_us": ParamSpec(0.0, 0.0, 1000.0, 50.0),
    "linear_layer_overhead_us": ParamSpec(0.0, 0.0, 1000.0, 50.0),
    "moe_ep_efficiency": ParamSpec(1.0, 0.2, 5.0, 1.0),
}
PARAMS = tuple(SPEC)
#: in a joint fit over several engines: the hardware efficiencies are shared, the overheads and the
#: arrival burstiness are each engine's own
SHARED = ("bandwidth_efficiency", "compute_efficiency_decode", "compute_efficiency_prefill", "moe_efficiency",
          "kv_bandwidth_efficiency", "moe_prefill_efficiency", "sparse_layer_overhead_us",
          "linear_layer_overhead_us")
OWN = ("layer_overhead_us", "prefill_overhead_ms", "burst_factor", "moe_ep_efficiency")
#: the factors only some rows inform (of a model with such layers, of such a layout); fitted only when
#: such a row is there (for an engine's own factor, a row of that engine)
INFORMED_BY: dict[str, Callable[[Measurement, LlmModel], bool]] = {
    "moe_efficiency": lambda m, model: model.moe is not None,
    "moe_prefill_efficiency": lambda m, model: model.moe is not None,
    "sparse_layer_overhead_us": lambda m, model: model.sparse_attention is not None,
    "linear_layer_overhead_us": lambda m, model: model.linear_attention is not None,
    "moe_ep_efficiency": lambda m, model: m.moe_ep > 1,
}
#: an engine measured on several GPUs of a class gets a burst factor per GPU (its campaigns' harness;
#: docs/model.md), fitted as logits (a share in (0, 1), smooth at both ends) with a N(mean, sigma)
#: prior about their mean, which decides only where a GPU has few rows; the engine's own value, for
#: the class's other GPUs, is the logistic of that mean
GPU_BURST_PRIOR_SIGMA = 1.0
BURST_LOGIT_BOUND = 9.0  # a burst factor between 0.0001 and 0.9999


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@dataclass(frozen=True)
class Measurement:
    model: str
    gpu: str
    engine: str
    precision: Precision
    kv_precision: Precision
    tp: int
    pp: int
    concurrency: int
    input_len: int
    output_len: int
    ttft_ms: float
    tpot_ms: float
    source: str
    moe_ep: int = 1  # expert-parallel degree of the run (aiconfigurator moe_ep_size)


def _model_id(catalog: Catalog, name: str) -> str:
    """Catalog id for a model path; quantised repos (-FP8, nvidia/...-FP8) map to their base model."""
    candidates = [name]
    base = name.split("/", 1)[-1]
    for suffix in ("-FP8", "-fp8", "-FP4", "-NVFP4"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    candidates += [base, f"meta-llama/{base}", f"Qwen/{base}"]
    for c in candidates:
        try:
            return catalog.model(c).id
        except UnknownIdError:
            continue
    raise UnknownIdError("model", name, catalog.models)


def read_measurements(path: str | Path, catalog: Catalog) -> tuple[list[Measurement], list[str]]:
    """Rows usable for calibration, and a reason for every row skipped."""
    rows, skipped = [], []
    seen: dict[tuple, list[Measurement]] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = set(reader.fieldnames or [])
        if set(AIC_COLUMNS) <= header:
            kind = "aiconfigurator"
        elif set(OWN_COLUMNS) <= header:
            kind = "gpuplan"
        else:
            missing = [c for c in OWN_COLUMNS if c not in header]
            raise GpuplanError(f"{path}: unrecognised measurement CSV; missing columns {missing} (see `gpuplan calibrate --help`)")
        for i, r in enumerate(reader, start=2):
            try:
                m = _aic_row(r, catalog, f"{path}:{i}") if kind == "aiconfigurator" else _own_row(r, catalog, f"{path}:{i}")
            except (GpuplanError, ValueError, KeyError) as e:
                skipped.append(f"{path}:{i}: {e}")
                continue
            floor = tpot_floor_ms(catalog, m)
            if m.tpot_ms < floor:
                skipped.append(f"{path}:{i}: TPOT {m.tpot_ms:.2f} ms is below {floor:.2f} ms, the time to read the weights and "
                               f"KV cache of {m.concurrency} sequences once at peak bandwidth: they never ran at once")
                continue
            ceiling = ttft_ceiling_ms(catalog, m)
            if m.ttft_ms > ceiling:
                skipped.append(f"{path}:{i}: TTFT {m.ttft_ms:.0f} ms is above {ceiling:.0f} ms, every one of the "
                               f"{m.concurrency} users' prompts prefilled in turn at {TTFT_CEILING_EFFICIENCY:.0%} of peak "
                               f"with a decode step each, plus {TTFT_CEILING_SLACK_MS:.0f} ms: requests waited for "
                               f"admission, so the {m.concurrency} users never ran at once")
                continue
            # one run exported twice (the aiconfigurator dump holds several exports, some under a sibling
            # model's name: DeepSeek-R1 / -V3) would weigh double in the fit and, under two model names,
            # be its own held-out answer in leave-one-model-out
            key = (m.gpu, m.engine, m.precision, m.kv_precision, m.tp, m.pp, m.concurrency, m.input_len, m.output_len)
            first = next((f for f in seen.get(key, []) if _same_run(f, m)), None)
            if first is not None:
                skipped.append(f"{path}:{i}: the same measurement as {first.source} ({first.model}): configuration, "
                               f"TTFT and TPOT identical to 9 digits or to the rounding of one export; counted once")
                continue
            seen.setdefault(key, []).append(m)
            rows.append(m)
    return rows, skipped


def _same_value(a: float, b: float) -> bool:
    """Two exports of one measured value: equal to 9 significant digits (exports differing in the last bit
    of the float), or one rounded to a few decimals and the other within half its last digit (the
    aiconfigurator gap-analysis files round to 0.01 ms: 10.08 for 10.08063544978)."""
    if f"{a:.9g}" == f"{b:.9g}":
        return True
    places = min(len(repr(x).partition(".")[2]) for x in (a, b))
    return places <= 4 and abs(a - b) <= 0.5 * 10 ** -places + 1e-12


def _same_run(a: Measurement, b: Measurement) -> bool:
    """Two rows of one configuration from the same run: TTFT and TPOT both agree (_same_value).  Two
    runs agreeing to 0.01 ms in both is beyond run-to-run noise."""
    return _same_value(a.ttft_ms, b.ttft_ms) and _same_value(a.tpot_ms, b.tpot_ms)


def _aic_row(r: dict, catalog: Catalog, where: str) -> Measurement:
    if r.get("mode", "agg") != "agg":
        raise ValueError("disaggregated serving row (mode != agg)")
    if (r.get("attention_dp_size") or "1") not in ("", "1"):
        raise ValueError("attention data-parallel row (not modelled)")
    if r["backend"] not in AIC_ENGINE:
        raise ValueError(f"backend {r['backend']!r} not mapped")
    if r["system"] not in AIC_GPU:
        raise ValueError(f"system {r['system']!r} not mapped")
    tp = int(r["tp_size"])
    moe_gpus = max(int(r.get("moe_tp_size") or 1), 1) * max(int(r.get("moe_ep_size") or 1), 1)
    if moe_gpus > tp:
        raise ValueError(f"MoE layout on {moe_gpus} GPUs around attention TP {tp} (attention replicated; not modelled)")
    if tp > 8:
        raise ValueError(f"TP {tp} spans servers of unknown network")
    return Measurement(
        model=_model_id(catalog, r["model_path"]),
        gpu=AIC_GPU[r["system"]],
        engine=AIC_ENGINE[r["backend"]],
        precision=AIC_PRECISION[r["gemm_quant_mode"]],
        kv_precision=_aic_kv_precision(r),
        tp=tp,
        pp=int(r.get("pp_size") or 1),
        concurrency=int(r["batch_size"]),
        input_len=int(r["isl"]),
        output_len=int(r["osl"]),
        ttft_ms=float(r["silicon_ttft_ms"]),
        tpot_ms=float(r["silicon_tpot_ms"]),
        source=where,
        moe_ep=max(int(r.get("moe_ep_size") or 1), 1),
    )


def _aic_kv_precision(r: dict) -> Precision:
    """The KV-cache format of an aiconfigurator row, which the dataset does not record.

    vLLM and SGLang keep the model's 16-bit dtype unless `--kv-cache-dtype fp8` is passed, and so does
    TensorRT-LLM unless `KvCacheConfig(dtype='fp8')` (shared/reference/engines.yaml: vllm_kv_fp8,
    sglang_attention, trtllm_quant).  TensorRT-LLM's fp8 rows had an fp8 cache all the same: under its
    admission rule (a request's whole KV reserved when it starts) a 16-bit cache would hold 22 of the
    32 Llama-3.1-70B 1,024/8,192-token requests on one H200 and 111 of the 128 Qwen3-32B 1,024/512 on
    one H100 (the memory model's pools), the rest queueing for whole requests (seconds to minutes),
    and those rows' TTFTs show no queue (449 ms, 751 ms).  vLLM's and SGLang's rows give no such sign
    (where a 16-bit cache overflows, their TTFTs do queue: vLLM Llama-3.1-70B, 2 H100, 8,192/1,024,
    32 users, 25 fit: 6.5 s measured), so they keep their default."""
    if r["backend"] == "trtllm" and r.get("precision") == "fp8":
        return Precision.fp8
    return Precision.bf16


def _own_row(r: dict, catalog: Catalog, where: str) -> Measurement:
    return Measurement(
        model=catalog.model(r["model"]).id,
        gpu=catalog.gpu(r["gpu"]).id,
        engine=catalog.engine(r["engine"]).id,
        precision=parse_precision(r["precision"]),
        kv_precision=parse_precision(r.get("kv_precision") or "bf16"),
        tp=int(r["tp"]),
        pp=int(r.get("pp") or 1),
        concurrency=int(r["concurrency"]),
        input_len=int(r["input_len"]),
        output_len=int(r["output_len"]),
        ttft_ms=float(r["ttft_ms"]),
        tpot_ms=float(r["tpot_ms"]),
        source=where,
    )


def prepare_measurement(catalog: Catalog, m: Measurement) -> Prepared:
    """The factor-free part of the measured configuration's estimate (see estimate.prepare)."""
    return prepare(catalog, catalog.models[m.model], catalog.gpus[m.gpu], catalog.engines[m.engine],
                   m.precision, m.kv_precision, m.tp, m.pp, m.input_len, m.output_len, m.concurrency, expert_parallel=m.moe_ep)


def predict_measurement(catalog: Catalog, m: Measurement, factors: PerfFactors,
                        prepared: Prepared | None = None) -> tuple[float, float] | None:
    """(ttft_ms, tpot_ms) the model predicts for the measured configuration (`prepared`: its
    prepare_measurement, when the caller evaluates it repeatedly).

    None when the configuration cannot run or its concurrency exceeds the modelled KV capacity: then
    the engine queues requests and the measured TTFT depends on how many requests the benchmark sent,
    which the data does not say.  The planner never proposes such a configuration (VRAM constraint).
    (Rows physically too fast for their batch are dropped once, on reading: read_measurements.)
    """
    est = (prepared or prepare_measurement(catalog, m)).run(factors, True)
    if est.perf is None or not est.fits:
        return None
    return est.perf.ttft_ms, est.perf.tpot_ms


def tpot_floor_ms(catalog: Catalog, m: Measurement) -> float:
    """Time to stream what one decode step of the stated batch must read at 100% of peak bandwidth —
    each GPU's weight shard (for MoE, the experts a batch of that size touches) and its share of the
    batch's KV cache at the prompt length: no decode step can be faster.

    A measured TPOT below it means the stated concurrency was never running at once (the benchmark
    did not reach it), so the row does not describe the configuration it names.
    """
    from solver.memory import kv_bytes_read_per_sequence, kv_share_per_gpu, state_bytes_per_gpu
    from solver.perf import decode_weight_bytes

    model, gpu = catalog.models[m.model], catalog.gpus[m.gpu]
    kv = m.concurrency * (kv_bytes_read_per_sequence(model, m.kv_precision, m.input_len) * kv_share_per_gpu(model, m.tp, m.pp)
                          + state_bytes_per_gpu(model, m.tp, m.pp))
    weights = decode_weight_bytes(model, m.precision, m.concurrency) / (m.tp * m.pp)
    return (kv + weights) / (gpu.memory_bandwidth_tbs * 1e12) * 1e3


#: the TTFT ceiling's allowances (ttft_ceiling_ms): a prefill at 10% of the 16-bit peak is half as fast
#: as the slowest the fit finds (a MoE prefill's routed experts, moe_prefill_efficiency x
#: compute_efficiency_prefill = 0.2), and 1 s is five times the largest fitted fixed latency (206 ms)
TTFT_CEILING_EFFICIENCY = 0.1
TTFT_CEILING_SLACK_MS = 1000.0


def ttft_ceiling_ms(catalog: Catalog, m: Measurement) -> float:
    """The longest a first token can take when the stated C users all run at once: a new request waits
    at most for every user's prompt (its own included) prefilled in turn — at TTFT_CEILING_EFFICIENCY of
    the GPUs' 16-bit peak — each with a decode step (the row's own TPOT) between, plus
    TTFT_CEILING_SLACK_MS of fixed latency.

    A longer measured TTFT can only be a wait for admission: the engine ran fewer requests (its KV
    capacity or scheduler limit, which the data does not state) and queued the rest, so, as below the
    TPOT floor, the row does not describe the load it names."""
    from solver.perf import peak_tflops, prefill_flops

    model, gpu = catalog.models[m.model], catalog.gpus[m.gpu]
    prefill_s = sum(prefill_flops(model, m.input_len)) / (TTFT_CEILING_EFFICIENCY * peak_tflops(gpu, m.precision, False) * 1e12 * m.tp)
    return m.concurrency * (prefill_s * 1e3 + m.tpot_ms) + TTFT_CEILING_SLACK_MS


def residuals(catalog: Catalog, rows: Iterable[Measurement], factors: PerfFactors,
              prepared: dict[Measurement, Prepared] | None = None) -> tuple[list[float], list[float]]:
    """ln(measured/predicted) for TPOT and TTFT (`prepared`: the rows' prepare_measurement, if at hand)."""
    tpot, ttft = [], []
    for m in rows:
        pred = predict_measurement(catalog, m, factors, prepared.get(m) if prepared else None)
        if pred is None:
            continue
        ttft.append(math.log(m.ttft_ms / pred[0]))
        tpot.append(math.log(m.tpot_ms / pred[1]))
    return tpot, ttft


def make_factors(engine: str, gpu_class: str, x: Iterable[float], tpot_band=(-0.3, 0.3), ttft_band=(-0.5, 0.5),
                 n: int = 0, source: str = "fit", burst_by_gpu: dict[str, float] | None = None) -> PerfFactors:
    vals = dict(zip(PARAMS, x, strict=True))
    return PerfFactors(id=f"{engine}@{gpu_class}", engine=engine, gpu_class=gpu_class, tpot_log_band=tpot_band,
                       ttft_log_band=ttft_band, measured_points=n, source=[source], burst_factor_by_gpu=burst_by_gpu or {},
                       **vals)


def quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if not s:
        return 0.0
    pos = q * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def band(xs: list[float]) -> tuple[float, float]:
    """The shipped band of ln(measured/predicted): +-the 90th percentile of |residual| (nominal 90%).

    Symmetric on purpose: the residuals come from a few held-out models, each off by its own offset,
    and the side those models fell on does not carry over to the next one.  On the calibration data
    (leave-one-model-out, nested; 1,276 rows, session 8) the 5th-95th percentile band covered 78.6%
    of held-out TPOTs and 87.1% of TTFTs; this one, of about the same median width, 85.2% and 89.2%
    (docs/model.md)."""
    half = round(quantile([abs(x) for x in xs], 0.9), 4)
    return -half, half


def fit(catalog: Catalog, rows: list[Measurement], engine: str, gpu_class: str, source: str,
        start: PerfFactors | None = None) -> PerfFactors:
    """Every factor (PARAMS) fitted on one engine's rows: `fit_joint` with a single engine, where no
    factor is shared; band as `band`, from the fit's own residuals."""
    if not rows:
        raise GpuplanError(f"no usable measurement for {engine}@{gpu_class}")
    if {m.engine for m in rows} != {engine}:
        raise GpuplanError(f"fit for {engine}@{gpu_class} given rows of {sorted({m.engine for m in rows})}")
    return fit_joint(catalog, rows, gpu_class, source, start)[engine]


def fit_class(catalog: Catalog, rows: list[Measurement], gpu_class: str, source: str,
              cache: dict | None = None) -> dict[str, PerfFactors]:
    """Factors per engine for one hardware class (a joint fit when several engines were measured,
    see fit_joint), with error bands cross-validated over models (cross_validated_bands).

    `cache` (keyed by the training rows) lets callers that fit overlapping subsets, such as the
    leave-one-model-out benchmark, reuse the fits."""
    def fit_rows(rs: list[Measurement]) -> dict[str, PerfFactors]:
        key = (gpu_class, frozenset(rs))
        if cache is not None and key in cache:
            return cache[key]
        out = fit_joint(catalog, rs, gpu_class, source)
        if cache is not None:
            cache[key] = out
        return out

    return with_bands(fit_rows(rows), cross_validated_bands(catalog, rows, fit_rows))


def with_bands(fits: dict[str, PerfFactors], bands: dict) -> dict[str, PerfFactors]:
    """The fits with the (TPOT, TTFT) bands given for their engine; the others keep their own."""
    return {e: f.model_copy(update={"tpot_log_band": bands[e][0], "ttft_log_band": bands[e][1]}) if e in bands else f
            for e, f in fits.items()}


def held_out_residuals(catalog: Catalog, rows: list[Measurement], fit_rows) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """Per engine, per model: ln(measured/predicted) TPOT and TTFT of the model's rows predicted by
    `fit_rows` of every other model's rows (leave-one-model-out); empty with fewer than two models."""
    models = sorted({m.model for m in rows})
    out: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    if len(models) < 2:
        return out
    for mid in models:
        for engine, f in fit_rows([m for m in rows if m.model != mid]).items():
            tpot, ttft = residuals(catalog, [m for m in rows if m.model == mid and m.engine == engine], f)
            if tpot:
                out.setdefault(engine, {})[mid] = (tpot, ttft)
    return out


def cross_validated_bands(catalog: Catalog, rows: list[Measurement], fit_rows) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """Per engine, the `band` of ln(measured/predicted) TPOT and TTFT for models left out of the fit
    (held_out_residuals, pooled over the models).

    The band is meant for a configuration of a model the fit may never have seen; a fit's residuals
    on its own rows understate that error (each model's systematic offset is partly fitted away).
    Engines measured on fewer than two models keep the in-sample band of their fit."""
    return {e: (band([x for tpot, _ in by_model.values() for x in tpot]), band([x for _, ttft in by_model.values() for x in ttft]))
            for e, by_model in sorted(held_out_residuals(catalog, rows, fit_rows).items()) if len(by_model) >= 2}


def fit_all(catalog: Catalog, rows: list[Measurement], source: str) -> list[PerfFactors]:
    """Factors for every (engine, GPU class) in `rows` (fit_class), plus '<engine>@*' and '*@*' fallbacks.

    The '<engine>@*' entries carry the engine's fit on the first class measured; '*@*' (an engine never
    measured) is `unmeasured_engine` of that class's fits.  Lookups through wildcards are labelled
    extrapolated and get a widened error band (solver.estimate.EXTRAPOLATED_WIDEN).
    """
    by_class: dict[str, list[Measurement]] = {}
    for m in rows:
        by_class.setdefault(catalog.gpus[m.gpu].compat_key, []).append(m)
    out: list[PerfFactors] = []
    wildcard: dict[str, PerfFactors] = {}
    first_class: list[PerfFactors] = []
    for cls, rs in sorted(by_class.items()):
        fits = [f for _, f in sorted(fit_class(catalog, rs, cls, source).items())]
        out.extend(fits)
        first_class = first_class or fits
        for f in fits:
            wildcard.setdefault(f.engine, f)  # the first class measured stands in for the others
    for engine, f in sorted(wildcard.items()):
        # GPUs of other classes: the engine's burst factor, not a measured GPU's
        out.append(f.model_copy(update={"id": f"{engine}@*", "gpu_class": "*", "burst_factor_by_gpu": {}}))
    out.append(unmeasured_engine(first_class))
    return out


def unmeasured_engine(fits: list[PerfFactors]) -> PerfFactors:
    """Factors for an engine with no measurement ('*@*'), from the engines measured on one class: their
    hardware efficiencies (shared in a joint fit), the largest of their per-engine overheads and burst
    factors (on a GPU with burst factors of its own, the largest there), and the envelope of their error bands.  An engine nobody measured is not assumed to serve
    faster than any measured one: a planner ranking configurations on cost must not prefer it on a
    guess (session 4: with pooled factors, llama.cpp out-ranked vLLM for 500 chat users)."""
    first = fits[0]
    # the slowest: the largest overhead and burst factor, the smallest efficiency
    worst = {p: (min if p.endswith("efficiency") else max)(getattr(f, p) for f in fits) for p in OWN}
    measured_gpus = sorted({g for f in fits for g in f.burst_factor_by_gpu})
    return first.model_copy(update={
        "id": "*@*", "engine": "*", "gpu_class": "*", **worst,
        "burst_factor_by_gpu": {g: max(f.burst_for(g) for f in fits) for g in measured_gpus},
        "tpot_log_band": (min(f.tpot_log_band[0] for f in fits), max(f.tpot_log_band[1] for f in fits)),
        "ttft_log_band": (min(f.ttft_log_band[0] for f in fits), max(f.ttft_log_band[1] for f in fits)),
        "measured_points": sum(f.measured_points for f in fits),
    })


def overlay_yaml(factors: list[PerfFactors], header: str = "") -> str:
    import yaml

    body = yaml.safe_dump({"calibration": [f.model_dump(mode="json") for f in factors]}, sort_keys=False, width=200)
    return header + body



def fit_joint(catalog: Catalog, rows: list[Measurement], gpu_class: str, source: str,
              start: PerfFactors | None = None) -> dict[str, PerfFactors]:
    """One least-squares fit over every engine's rows (soft-L1 on ln(measured/predicted) TPOT and TTFT):
    the hardware-level efficiencies (SHARED) are common to all engines, the overheads and the arrival
    burstiness (OWN) are per engine, so an engine with few measured models borrows the physics of the
    others; an engine measured on several GPUs also gets each GPU's burst factor (burst_factor_by_gpu,
    GPU_BURST_PRIOR_SIGMA).  With one engine every factor is its own (`fit`).  `start`: where the fit
    starts (default each ParamSpec.start)."""
    import numpy as np
    from scipy.optimize import least_squares

    engines = sorted({m.engine for m in rows})
    sc = {p: spec.scale for p, spec in SPEC.items()}
    gpus_of = {e: sorted({m.gpu for m in rows if m.engine == e}) for e in engines}
    # an engine measured on several GPUs: a burst factor per GPU (as a logit) instead of one
    several = {e for e in engines if len(gpus_of[e]) >= 2}
    per_gpu = [(e, g) for e in sorted(several) for g in gpus_of[e]]
    # a factor no row can inform stays at its prior (ParamSpec.start) instead of drifting where the
    # optimiser's scaling takes a direction the residuals do not see (a dense-only fit had put the
    # MoE efficiencies at 0.10 and 0.06, near their lower bounds)
    def informed(p: str, rs: list[Measurement]) -> bool:
        return any(INFORMED_BY.get(p, lambda *_: True)(m, catalog.models[m.model]) for m in rs)

    shared = [p for p in SHARED if informed(p, rows)]
    fixed = {p: SPEC[p].start for p in SHARED if p not in shared}
    own_fixed = {e: {p: SPEC[p].start for p in OWN if not informed(p, [m for m in rows if m.engine == e])} for e in engines}
    kept = [*fixed, *(f"{e} {p}" for e in engines for p in own_fixed[e])]
    if kept:
        source = f"{source}; not fitted, no row informs them (prior kept): {', '.join(kept)}"
    names = shared + [f"{e}:{p}" for e in engines for p in OWN
                      if not (p == "burst_factor" and e in several) and p not in own_fixed[e]]
    base = [n.split(":")[-1] for n in names]
    burst0 = [_logit(start.burst_for(g) if start else SPEC["burst_factor"].start) for _, g in per_gpu]
    x0 = np.array([min(max(getattr(start, b) if start else SPEC[b].start, SPEC[b].lower + 1e-6), SPEC[b].upper - 1e-6) / sc[b]
                   for b in base] + burst0)
    lb = np.array([SPEC[b].lower / sc[b] for b in base] + [-BURST_LOGIT_BOUND] * len(per_gpu))
    ub = np.array([SPEC[b].upper / sc[b] for b in base] + [BURST_LOGIT_BOUND] * len(per_gpu))
    by_engine = {e: [m for m in rows if m.engine == e] for e in engines}
    prepared = {m: prepare_measurement(catalog, m) for m in rows}  # evaluated ~200 times with other factors
    n_own = len(names)

    def gpu_logits(z: np.ndarray, e: str) -> dict[str, float]:
        return {g: float(z[n_own + j]) for j, (eng, g) in enumerate(per_gpu) if eng == e}

    def factors_for(z: np.ndarray, e: str) -> PerfFactors:
        vals = fixed | own_fixed[e] | {b: float(v) * sc[b] for b, v in zip(base[:len(shared)], z[:len(shared)], strict=True)}
        for i, name in enumerate(names[len(shared):], start=len(shared)):
            eng, p = name.split(":")
            if eng == e:
                vals[p] = float(z[i]) * sc[p]
        logits = gpu_logits(z, e)
        if logits:  # the engine's own: the typical GPU's (mean logit), for the class's other GPUs
            vals["burst_factor"] = _logistic(sum(logits.values()) / len(logits))
        return make_factors(e, gpu_class, [vals[p] for p in PARAMS], source=source,
                            burst_by_gpu={g: _logistic(v) for g, v in logits.items()})

    def res(z: np.ndarray) -> np.ndarray:
        out: list[float] = []
        for e, rs in by_engine.items():
            a, b = residuals(catalog, rs, factors_for(z, e), prepared)
            out += a + b
            logits = gpu_logits(z, e)
            if logits:  # the prior: each GPU's logit about the engine's mean
                mean = sum(logits.values()) / len(logits)
                out += [(v - mean) / GPU_BURST_PRIOR_SIGMA for v in logits.values()]
        return np.array(out) if out else np.zeros(1)

    sol = least_squares(res, x0, bounds=(lb, ub), method="trf", loss="soft_l1", f_scale=0.3, x_scale="jac", max_nfev=200)
    out = {}
    for e, rs in by_engine.items():
        f = factors_for(sol.x, e)
        a, b = residuals(catalog, rs, f, prepared)
        out[e] = make_factors(e, gpu_class, [round(getattr(f, p), 5) for p in PARAMS], band(a), band(b), len(rs), source,
                              {g: round(v, 5) for g, v in f.burst_factor_by_gpu.items()})
    return out
