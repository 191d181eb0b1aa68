"""Engine x hardware x precision x feature compatibility and parallelism rules, with reasons.

The effective precision path combines the engine's table with the GPU's tensor cores: an engine
"yes" on a GPU without native support for the format becomes "fallback" (weight-only dequantised
kernels, e.g. FP8 W8A16 Marlin on Ampere), because the hardware cannot run it natively
(reference/engines.yaml global rules fp8_tensorcore_compute, nvfp4_native, bf16_requires_ampere).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from solver.schema.engine import PRECISION_RUNS, RUNS, Engine
from solver.schema.hardware import Gpu
from solver.schema.llm import LlmModel
from solver.schema.precision import Precision

Path = Literal["native", "fallback", "unsupported"]

#: what a GPU needs in `native_precisions` to run a weight format natively
NEEDS: dict[Precision, str] = {
    Precision.fp32: "fp32",
    Precision.fp16: "fp16",
    Precision.bf16: "bf16",
    Precision.fp8: "fp8",
    Precision.int8: "int8",
    Precision.int4: "fp16",  # W4A16: weights dequantised into 16-bit GEMMs
    Precision.fp4: "fp4",
}
#: formats a GPU cannot run at all without native support (no weight-only path exists)
HARD = {Precision.bf16, Precision.fp16}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None = None


def precision_path(engine: Engine, gpu: Gpu, p: Precision) -> tuple[Path, str | None]:
    """native | fallback | unsupported, with the reason when not native."""
    status = engine.precision_status(p, gpu.compat_key)
    if status not in PRECISION_RUNS:
        why = "not documented" if status == "unknown" else status
        return "unsupported", f"{engine.name} does not run {p.value} weights on {gpu.architecture} ({gpu.id}): {why}"
    native_hw = NEEDS[p] in gpu.native_precisions
    if not native_hw and p in HARD:
        return "unsupported", f"{gpu.id} ({gpu.architecture}) has no {p.value} support"
    parts = []
    if status == "fallback" or not native_hw:
        parts.append(f"{gpu.id} runs {p.value} only through {engine.name}'s weight-only fallback (no native {p.value} tensor cores)")
    if engine.unverified_cell("precision", p.value, gpu.compat_key):
        parts.append(f"{engine.name}'s {p.value} on {gpu.compat_key} is unverified (catalog engines.yaml, {engine.id} notes)")
    return ("fallback" if status == "fallback" or not native_hw else "native"), "; ".join(parts) or None


def sixteen_bit_kv(weights: Precision) -> Precision:
    """The 16-bit KV format preferred with these weights: fp16 beside fp16 weights, else bf16."""
    return Precision.fp16 if weights == Precision.fp16 else Precision.bf16


def kv_precision_for(engine: Engine, gpu: Gpu, weights: Precision, asked: Precision | None) -> Precision:
    """The KV-cache format: the one asked for, else the 16-bit format this engine keeps on this GPU.

    bf16 (fp16 with fp16 weights) where the engine and the GPU have it, else fp16: Ollama and llama.cpp
    keep an f16 cache, and Volta/Turing have no bf16 (engines cast to fp16 there), so "16-bit KV" must
    not reject them.  Bytes are the same either way; only the compatibility check differs."""
    if asked is not None:
        return asked
    first = sixteen_bit_kv(weights)
    for p in (first, Precision.fp16 if first == Precision.bf16 else Precision.bf16):
        if kv_precision_ok(engine, gpu, p).ok and (p != Precision.bf16 or "bf16" in gpu.native_precisions):
            return p
    return first


def kv_precision_ok(engine: Engine, gpu: Gpu, p: Precision) -> Verdict:
    status = engine.kv_status(p, gpu.compat_key)
    if status in ("yes", "partial"):
        return Verdict(True)
    return Verdict(False, f"{engine.name} has no {p.value} KV cache on {gpu.architecture} ({status})")


def engine_runs(engine: Engine, gpu: Gpu) -> Verdict:
    status = engine.runs_on(gpu.compat_key)
    if status in RUNS:
        return Verdict(True)
    why = "not documented" if status == "unknown" else status
    return Verdict(False, f"{engine.name} does not run on {gpu.architecture} ({gpu.id}): {why}")


def features_ok(engine: Engine, gpu: Gpu, features: list[str]) -> Verdict:
    for f in features:
        status = engine.feature_status(f, gpu.compat_key)
        if status not in ("yes", "partial"):
            label = "FlashAttention" if f == "flash_attention" else f
            extra = " (FlashAttention v2/v3 cannot run on V100/V100S, sm70)" if f == "flash_attention" and gpu.compat_key == "nvidia_volta" else ""
            why = "not documented" if status == "unknown" else status
            return Verdict(False, f"{engine.name} has no {label} on {gpu.architecture} ({gpu.id}): {why}{extra}")
    return Verdict(True)


def parallelism_ok(engine: Engine, model: LlmModel, tp: int, pp: int, spans_servers: bool) -> Verdict:
    """The engine's TP/PP rules (reference/engines.yaml `rules`)."""
    par = engine.parallelism
    if tp > 1 and not par.tensor_parallel:
        return Verdict(False, f"{engine.name} has no tensor parallelism (multi-GPU only by layer split)")
    if pp > 1 and not par.pipeline_parallel:
        return Verdict(False, f"{engine.name} has no pipeline parallelism")
    if pp > 1 and not model.supports_pp:
        return Verdict(False, f"{model.id} does not implement pipeline parallelism")
    if pp > model.layers:
        return Verdict(False, f"PP {pp} exceeds the model's {model.layers} layers")
    if spans_servers and not par.multi_server:
        return Verdict(False, f"{engine.name} cannot span several servers")
    if tp > 1 and par.tp_power_of_two and tp & (tp - 1):
        return Verdict(False, f"{engine.name} needs a power-of-two TP (got {tp})")
    if tp > 1 and par.tp_divides_heads and model.attention_heads % tp:
        return Verdict(False, f"TP {tp} does not divide the {model.attention_heads} attention heads of {model.id}")
    if tp > 1 and model.mla is None:
        kv = model.kv_heads
        if par.kv_heads == "divide" and kv % tp:
            return Verdict(False, f"{engine.name} needs TP ({tp}) to divide the {kv} KV heads of {model.id}")
        if par.kv_heads == "replicate" and (kv % tp if kv >= tp else tp % kv):
            return Verdict(False, f"TP {tp} and the {kv} KV heads of {model.id} neither divide nor replicate evenly")
    return Verdict(True)
