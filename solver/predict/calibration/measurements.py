"""Measurement files in: rows of a serving benchmark, checked for physical plausibility, and the
model's prediction for each (`gpuplan calibrate` reads them; the fit and the bands compare against them).

Accepted CSV formats (the header decides):
1. gpuplan's own: model, gpu, engine, precision, kv_precision, tp, pp, concurrency, input_len,
   output_len, ttft_ms, tpot_ms  (ids or aliases from the catalog; kv_precision and pp optional);
2. aiconfigurator's `silicon_sample.csv` columns (backend, model_path, system, gemm_quant_mode,
   batch_size, tp_size, pp_size, isl, osl, silicon_ttft_ms, silicon_tpot_ms, mode, attention_dp_size).
   Only aggregated serving (`mode=agg`) without attention data-parallelism is used; the KV-cache
   format, which the dataset does not record, is set by `_aic_kv_precision`.
A row whose TPOT is below `tpot_floor_ms`, or whose TTFT is above `ttft_ceiling_ms`, is skipped with
that reason: its stated concurrency was never running at once.  A row repeating an earlier one (same
configuration, TTFT and TPOT equal to 9 significant digits) is skipped too: one run exported twice.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from solver.errors import GpuplanError, UnknownIdError
from solver.predict.compat import parallelism_ok
from solver.predict.estimate import Prepared, prepare
from solver.predict.fabric import in_fast_domain
from solver.predict.memory import kv_bytes_read_per_sequence, kv_share_per_gpu, state_bytes_per_gpu
from solver.predict.work import decode_weight_bytes, peak_tflops, prefill_flops
from solver.schema.calibration import PerfFactors
from solver.schema.catalog import Catalog
from solver.schema.precision import Precision, parse_precision

OWN_COLUMNS = ("model", "gpu", "engine", "precision", "tp", "concurrency", "input_len", "output_len", "ttft_ms", "tpot_ms")
AIC_COLUMNS = ("backend", "model_path", "system", "gemm_quant_mode", "batch_size", "tp_size", "isl", "osl",
               "silicon_ttft_ms", "silicon_tpot_ms")
AIC_ENGINE = {"trtllm": "tensorrt-llm", "vllm": "vllm", "sglang": "sglang"}
AIC_GPU = {"h100_sxm": "h100-sxm-80gb", "h200_sxm": "h200-sxm-141gb", "b200_sxm": "b200-sxm-180gb",
           "b300_sxm": "b300-sxm-288gb", "a100_sxm": "a100-sxm4-80gb", "gb200_sxm": "gb200-186gb", "gb200": "gb200-186gb"}
AIC_PRECISION = {"": Precision.bf16, "bf16": Precision.bf16, "fp16": Precision.fp16, "fp8": Precision.fp8,
                 "fp8_block": Precision.fp8, "nvfp4": Precision.fp4, "mxfp4": Precision.fp4, "int4_wo": Precision.int4,
                 "int8_wo": Precision.int8}
#: the largest value a measurement's count may take (a larger one is a typo or a unit error)
COUNT_LIMITS = {"tp": 1024, "pp": 1024, "moe_ep": 1024, "concurrency": 10_000_000, "input_len": 10_485_760,
                "output_len": 10_485_760}
MAX_MS = 1e9  # a TTFT or TPOT beyond 11.6 days is not a serving measurement


def _count(r: dict, col: str, name: str, default: int | None = None, zero_unset: bool = False) -> int:
    """A whole number >= 1 from column `col` (empty, or 0 where `zero_unset`: `default`), within
    COUNT_LIMITS[name]."""
    text = (r.get(col) or "").strip()
    if (not text or (zero_unset and text == "0")) and default is not None:
        return default
    try:
        v = int(text)
    except ValueError:
        raise ValueError(f"{col} {text!r} is not a whole number") from None
    if not 1 <= v <= COUNT_LIMITS[name]:
        raise ValueError(f"{col} {v} is out of range (1 to {COUNT_LIMITS[name]:,})")
    return v


#: a measurement's numbers (Measurement fields) and, in aiconfigurator's files, their columns
OWN_NUMBERS = ("tp", "pp", "concurrency", "input_len", "output_len", "ttft_ms", "tpot_ms")
AIC_NUMBERS = {"tp": "tp_size", "pp": "pp_size", "concurrency": "batch_size", "input_len": "isl", "output_len": "osl",
               "ttft_ms": "silicon_ttft_ms", "tpot_ms": "silicon_tpot_ms"}


def _numbers(r: dict, columns: dict[str, str]) -> dict:
    """The measurement's counts (_count; pp defaults to 1) and durations (_ms) from `columns`."""
    out = {f: _count(r, col, f, default=1 if f == "pp" else None) for f, col in columns.items() if not f.endswith("_ms")}
    return out | {f: _ms(r, col) for f, col in columns.items() if f.endswith("_ms")}


def _ms(r: dict, col: str) -> float:
    """A positive, finite duration in ms from column `col`."""
    text = (r.get(col) or "").strip()
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{col} {text!r} is not a number") from None
    if not (math.isfinite(v) and 0 < v <= MAX_MS):
        raise ValueError(f"{col} {text!r} must be a positive, finite number of ms (at most {MAX_MS:g})")
    return v


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
    """Rows usable for calibration, and a reason for every row skipped.  A file that is not UTF-8
    CSV text, or has no recognised header, is a GpuplanError; a bad row is skipped with its reason."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return _read(fh, path, catalog)
    except UnicodeDecodeError as e:
        raise GpuplanError(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                           "save it as UTF-8 (a spreadsheet's 'CSV UTF-8')") from None
    except csv.Error as e:
        raise GpuplanError(f"{path}: not a readable CSV file ({e})") from None
    except OSError as e:
        raise GpuplanError(f"{path}: cannot be read ({e.strerror or e})") from None


def _read(fh, path: str | Path, catalog: Catalog) -> tuple[list[Measurement], list[str]]:
    rows: list[Measurement] = []
    skipped: list[str] = []
    seen: dict[tuple, list[Measurement]] = {}
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
        if None in r or None in r.values():  # DictReader's markers of too many / too few cells
            skipped.append(f"{path}:{i}: {'more' if None in r else 'fewer'} cells than the header's "
                           f"{len(reader.fieldnames or [])}")
            continue
        try:
            m = _aic_row(r, catalog, f"{path}:{i}") if kind == "aiconfigurator" else _own_row(r, catalog, f"{path}:{i}")
        except (GpuplanError, ValueError, KeyError) as e:
            skipped.append(f"{path}:{i}: {e}")
            continue
        layout = parallelism_ok(catalog.engines[m.engine], catalog.models[m.model], m.tp, m.pp, False)
        if not layout.ok:
            skipped.append(f"{path}:{i}: {layout.reason} (a layout the model does not express)")
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
    tp = _count(r, "tp_size", "tp")
    # aiconfigurator writes 0 (or nothing) for a MoE split a run did not use
    moe_ep = _count(r, "moe_ep_size", "moe_ep", default=1, zero_unset=True)
    moe_gpus = _count(r, "moe_tp_size", "tp", default=1, zero_unset=True) * moe_ep
    if moe_gpus > tp:
        raise ValueError(f"MoE layout on {moe_gpus} GPUs around attention TP {tp} (attention replicated; not modelled)")
    gpu = AIC_GPU[r["system"]]
    if not any(tp <= s.gpu_count or in_fast_domain(s.interconnect.kind, s.interconnect.fast_domain_gpus, tp)
               for s in catalog.servers_by_gpu.get(gpu, [])):
        raise ValueError(f"TP {tp} spans servers beyond {gpu}'s NVLink domain (the network the run used is not recorded)")
    return Measurement(
        model=_model_id(catalog, r["model_path"]),
        gpu=gpu,
        engine=AIC_ENGINE[r["backend"]],
        precision=AIC_PRECISION[r["gemm_quant_mode"]],
        kv_precision=_aic_kv_precision(r),
        **_numbers(r, AIC_NUMBERS),
        source=where,
        moe_ep=moe_ep,
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
        **_numbers(r, {f: f for f in OWN_NUMBERS}),
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
    model, gpu = catalog.models[m.model], catalog.gpus[m.gpu]
    kv = m.concurrency * (kv_bytes_read_per_sequence(model, m.kv_precision, m.input_len) * kv_share_per_gpu(model, m.tp, m.pp)
                          + state_bytes_per_gpu(model, m.tp, m.pp))
    weights = decode_weight_bytes(model, m.precision, m.concurrency) / (m.tp * m.pp)
    return (kv + weights) / (gpu.memory_bandwidth_tbs * 1e12) * 1e3


#: the TTFT ceiling's allowances (ttft_ceiling_ms): a prefill at 10% of the 16-bit peak is half as fast
#: as the slowest the fit finds (a MoE prefill's routed experts, moe_prefill_efficiency x
#: compute_efficiency_prefill = 0.2), and 1 s is about four times the largest fitted shared wait (268 ms)
TTFT_CEILING_EFFICIENCY = 0.1
TTFT_CEILING_SLACK_MS = 1000.0


def ttft_ceiling_ms(catalog: Catalog, m: Measurement) -> float:
    """The longest a first token can take when the stated C users all run at once: a new request waits
    at most for every user's prompt (its own included) prefilled in turn — at TTFT_CEILING_EFFICIENCY of
    the GPUs' 16-bit peak — each with a decode step (the row's own TPOT) between, plus
    TTFT_CEILING_SLACK_MS of latency beyond the GPUs' work.

    A longer measured TTFT can only be a wait for admission: the engine ran fewer requests (its KV
    capacity or scheduler limit, which the data does not state) and queued the rest, so, as below the
    TPOT floor, the row does not describe the load it names."""
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
