"""The work per token of a model: matmul parameters, attention FLOPs, prefill FLOPs, MoE weight reads.

Pure functions of the architecture (and the weight precision for bytes); the speed model
(solver.predict.speed) turns them into time on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from solver.predict.memory import (
    expert_bytes_per_param,
    routed_active_params,
    routed_expert_params,
    streamed_weight_bytes,
)
from solver.schema.hardware import Gpu
from solver.schema.llm import LlmModel
from solver.schema.precision import Precision


@dataclass(frozen=True)
class ModelWork:
    """Per-model constants of the work per token, cached."""

    matmul_active: float  # params in matmuls per generated token (active; the LM head, not the input embedding)
    attn_flops_per_ctx: float  # FLOPs per token per attended context token, per layer
    nonexpert_params: float
    expert_params: float  # one expert of one MoE layer
    routed_active: float = 0.0  # routed-expert matmul params per token (MoE)
    head_params: float = 0.0  # the LM head's matmul, run once per token turned into logits


_WORK: dict[int, tuple[LlmModel, ModelWork]] = {}


def model_work(model: LlmModel) -> ModelWork:
    """Cached per model object (catalog models are immutable)."""
    hit = _WORK.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    work = _model_work(model)
    _WORK[id(model)] = (model, work)
    return work


def _model_work(model: LlmModel) -> ModelWork:
    # the input embedding is a row lookup; the LM head is a matmul whether its weights are its own or
    # the embedding's (tied), and params_active counts the head's own weights only when untied
    head = float(model.head_matmul_params)
    matmul = float(model.params_active - model.embedding_params - model.lm_head_params) + head
    if model.mla is not None:
        qk, v = model.mla.qk_nope_head_dim + model.mla.qk_rope_head_dim, model.mla.v_head_dim
    else:
        qk = v = model.head_dim
    attn = 2.0 * model.attention_heads * (qk + v)
    if model.moe is not None:
        m = model.moe
        routed_active = routed_active_params(model)
        nonexpert = model.params_active - routed_active
        expert = routed_expert_params(model) / (m.experts * m.moe_layers)
        return ModelWork(matmul, attn, float(nonexpert), float(expert), float(routed_active), head)
    return ModelWork(matmul, attn, float(model.params_total), 0.0, head_params=head)


def attention_flops(model: LlmModel, ctx: float, causal_prefill: bool = False) -> float:
    """Attention FLOPs of one token attending `ctx` tokens (or of a whole causal prefill of `ctx` tokens)."""
    w = model_work(model).attn_flops_per_ctx
    la = model.linear_attention
    # a Gated DeltaNet token, per linear layer and value head: four key_dim x value_dim products with its
    # state (S k, the two rank-1 updates of the delta rule, S q) — its work does not grow with the context
    linear = la.layers * 8.0 * la.value_heads * la.key_head_dim * la.value_head_dim * (ctx if causal_prefill else 1.0) if la else 0.0
    sa = model.sparse_attention
    if sa is not None:  # DSA: every layer attends the top_k tokens its indexer picked after scoring them all
        scored = ctx * ctx / 2 if causal_prefill else ctx
        return model.layers * (w * _attended(ctx, sa.top_k_tokens, causal_prefill)
                               + 2.0 * sa.indexer_heads * sa.indexer_head_dim * scored) + linear
    sw = model.sliding_window
    loc = sw.local_layers * _attended(ctx, sw.window_tokens, causal_prefill) if sw else 0.0
    return w * (model.global_layers * _attended(ctx, None, causal_prefill) + loc) + linear


def _attended(ctx: float, window: float | None, causal_prefill: bool) -> float:
    """Token pairs one layer attends when each query sees at most `window` tokens (None: all before it):
    for one query of a `ctx`-token context, or over a causal prefill of `ctx` tokens."""
    kept = ctx if window is None else min(ctx, window)
    if not causal_prefill:
        return kept
    return kept * kept / 2 + (max(ctx - window, 0) * window if window is not None else 0.0)


def prefill_flops(model: LlmModel, input_len: int) -> tuple[float, float]:
    """FLOPs of prefilling `input_len` tokens: (dense GEMMs + causal attention, routed-expert GEMMs).

    The LM head runs once, on the prompt's last position (the first output token's logits): engines
    select that row before the head (vLLM's `logits_indices`, SGLang's LogitsProcessor in extend mode)."""
    work = model_work(model)
    body = work.matmul_active - work.head_params - work.routed_active
    dense = input_len * 2 * body + 2 * work.head_params + attention_flops(model, input_len, causal_prefill=True)
    return dense, input_len * 2 * work.routed_active


def moe_weight_split(model: LlmModel, precision: Precision) -> tuple[float, float]:
    """(bytes a decode step reads whatever its batch: all but the routed experts, bytes of one routed
    expert across the MoE layers) of a MoE model (whole model)."""
    m = model.moe
    expert_bytes = model_work(model).expert_params * m.moe_layers * expert_bytes_per_param(model, precision)
    return streamed_weight_bytes(model, precision) - expert_bytes * m.experts, expert_bytes


def experts_touched(model: LlmModel, batch: float) -> float:
    """Routed experts per MoE layer a decode step of `batch` tokens touches: E x (1 - (1 - k/E)^b), uniform routing."""
    m = model.moe
    return m.experts * (1 - (1 - m.experts_per_token / m.experts) ** max(batch, 1.0))


def moe_step_bytes(model: LlmModel, split: tuple[float, float], batch: float, moe_efficiency: float) -> float:
    """Weight bytes a MoE decode step of `batch` tokens reads (whole model; `split`: moe_weight_split):
    the fixed part, and the experts the batch touches weighted by 1/moe_efficiency."""
    fixed, per_expert = split
    return fixed + per_expert * experts_touched(model, batch) / moe_efficiency


def decode_weight_bytes(model: LlmModel, precision: Precision, batch: float, moe_efficiency: float = 1.0) -> float:
    """Weight bytes one decode step reads (whole model): all of a dense model, moe_step_bytes of a MoE one."""
    if model.moe is None:
        return streamed_weight_bytes(model, precision)
    return moe_step_bytes(model, moe_weight_split(model, precision), batch, moe_efficiency)


def peak_tflops(gpu: Gpu, precision: Precision, native: bool) -> float:
    """Dense TFLOPS of the GEMMs: the format's own rate when native; 16-bit for weight-only paths."""
    t = gpu.dense_tflops
    half = t.get("bf16") or t.get("fp16") or t.get("fp32") or 1.0
    if not native or precision == Precision.int4:
        return half
    if precision == Precision.fp32:
        return t.get("tf32") or t.get("fp32") or half
    return t.get(precision.value) or half
