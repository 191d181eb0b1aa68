"""Memory per GPU for one replica shape: weights, KV cache, activations, overheads, and what fits.

Formulas (docs/model.md gives sources):
- weights: params x bytes/param (+ quantization scales, solver.schema.precision); embeddings and the LM
  head stay 16-bit in quantized checkpoints; a model whose published checkpoint quantises only its
  experts (gpt-oss: MXFP4) keeps the rest 16-bit; MoE counts every expert; sharded over TP x PP;
- KV per token: MHA/GQA/MQA 2 x layers x kv_heads x head_dim x bytes; MLA (kv_lora_rank + rope dim)
  x layers x bytes; local (sliding / chunked) layers cache at most `window_tokens`;
  per GPU: KV heads split over TP, each GPU keeping at least one (replicated when kv_heads < TP);
  the MLA latent is replicated on every TP rank; layers split over PP;
- workspace: activations of one forward pass over the engine's token budget, logits, CUDA graphs,
  collective buffers and the runtime reserve (model parameters, documented, not facts);
- the engine's memory rule sizes the KV pool: vLLM a fraction of total memory, SGLang its own share of
  it (what its reserve for activations and CUDA graphs leaves, sglang_reserved_gib), TensorRT-LLM
  and LMDeploy a fraction of what is free after weights, Ollama/llama.cpp all that remains.

The guide's rule (`rule="guide"`): params(B) x precision factor + context tokens x 0.5 MB / 1024,
i.e. 0.0005 GB per token with binary MB->GB; 128,000 tokens -> 62.5 GB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solver.schema.engine import Engine
from solver.schema.hardware import Gpu
from solver.schema.llm import LlmModel
from solver.schema.precision import (
    BYTES_PER_VALUE,
    GUIDE_FACTOR_GB_PER_B,
    QUANTIZED,
    Precision,
    weight_bytes_per_param,
)

GIB = 1024**3
GUIDE_MB_PER_TOKEN = 0.5  # the guide's context term: 0.0005 "GB" per token = 0.5 MB/token

# Model parameters of the workspace estimate (GiB unless stated); see docs/model.md "Overheads".
RUNTIME_RESERVE_GIB = 0.75  # CUDA/ROCm context, allocator fragmentation
CUDA_GRAPH_GIB = 0.5  # captured graphs, engines with cuda_graph support
COMM_BUFFER_GIB_BASE = 0.25  # NCCL/RCCL buffers when TP or PP > 1
COMM_BUFFER_GIB_PER_RANK = 0.03
TOKEN_BUDGET = 8192  # tokens per forward pass with chunked prefill where the engine states none (vLLM's and SGLang's
#                      defaults on Hopper-class GPUs; see token_budget)
TOKEN_BUDGET_GGUF = 2048  # llama.cpp/Ollama n_batch default
MAX_SAMPLED_SEQS = 256  # sequences whose fp32 logits an engine reserves when it states no running cap (vLLM's 256 below 70 GiB)


def _p(x: Precision | str) -> Precision:
    return x if isinstance(x, Precision) else Precision(x)


def routed_active_params(model: LlmModel) -> int:
    """Parameters of the routed experts one token uses (gate, up and down projections; 0 for a dense model)."""
    m = model.moe
    return 0 if m is None else m.experts_per_token * 3 * model.hidden_size * m.expert_intermediate_size * m.moe_layers


def routed_expert_params(model: LlmModel) -> int:
    """Parameters of all routed experts (0 for a dense model): total minus what every token uses
    besides its routed experts (attention, shared experts, embeddings)."""
    if model.moe is None:
        return 0
    return model.params_total - (model.params_active - routed_active_params(model))


def expert_bytes_per_param(model: LlmModel, precision: Precision | str) -> float:
    """Bytes of one routed-expert weight in `precision` (the published checkpoint's scales where it has its own)."""
    p = _p(precision)
    ck = model.checkpoint
    if ck is not None and ck.precision == p:
        return BYTES_PER_VALUE[p] + ck.scale_bytes_per_param
    return weight_bytes_per_param(p)


def weight_bytes(model: LlmModel, precision: Precision | str) -> float:
    """All weights of the model in `precision` (bytes).  A checkpoint that quantises only its experts
    (gpt-oss: MXFP4 experts, BF16 attention and router) keeps the rest of the body in 16 bits."""
    p = _p(precision)
    embed = model.embedding_params + model.lm_head_params
    body = model.params_total - embed
    embed_bpp = _embedding_bytes_per_param(p)
    ck = model.checkpoint
    if ck is not None and ck.precision == p and ck.modules == "experts":
        experts = routed_expert_params(model)
        return experts * expert_bytes_per_param(model, p) + (body - experts) * BYTES_PER_VALUE[Precision.bf16] + embed * embed_bpp
    return body * weight_bytes_per_param(p) + embed * embed_bpp


def _embedding_bytes_per_param(p: Precision) -> float:
    """Embeddings and the LM head stay 16-bit in quantised checkpoints (modules_to_not_convert)."""
    return BYTES_PER_VALUE[Precision.bf16] if p in QUANTIZED else BYTES_PER_VALUE[p]


def streamed_weight_bytes(model: LlmModel, precision: Precision | str) -> float:
    """Weight bytes a forward pass streams (whole model): all weights but an untied input embedding
    table, of which a pass gathers only its tokens' rows (a tied table is streamed whole as the LM head)."""
    p = _p(precision)
    gathered = 0 if model.tie_word_embeddings else model.embedding_params
    return weight_bytes(model, p) - gathered * _embedding_bytes_per_param(p)


def kv_bytes_per_token(model: LlmModel, kv_precision: Precision | str) -> float:
    """KV bytes per token over the full-attention layers (local layers are capped, see kv_bytes_per_sequence)."""
    if model.mla is not None:
        indexer = model.sparse_attention.indexer_cache_bytes_per_token if model.sparse_attention else 0.0
        return (_latent_bytes(model, kv_precision) + indexer) * model.layers
    return 2 * model.global_layers * model.kv_heads * model.head_dim * BYTES_PER_VALUE[_p(kv_precision)]


def _latent_bytes(model: LlmModel, kv_precision: Precision | str) -> float:
    """An MLA model's cached latent per token and layer (kv_lora_rank + the decoupled RoPE key)."""
    return (model.mla.kv_lora_rank + model.mla.qk_rope_head_dim) * BYTES_PER_VALUE[_p(kv_precision)]


def kv_bytes_per_sequence(model: LlmModel, kv_precision: Precision | str, tokens: int) -> float:
    """KV bytes of one sequence of `tokens` tokens, whole model (all GPUs of a replica)."""
    full = kv_bytes_per_token(model, kv_precision) * tokens
    if model.sliding_window is None or model.mla is not None:
        return full
    b = BYTES_PER_VALUE[_p(kv_precision)]
    local_per_token = 2 * model.sliding_window.local_layers * model.kv_heads * model.head_dim * b
    return full + local_per_token * min(tokens, model.sliding_window.window_tokens)


def kv_bytes_read_per_sequence(model: LlmModel, kv_precision: Precision | str, tokens: int) -> float:
    """KV bytes one decode step reads for one sequence of `tokens` tokens, whole model: what it stores
    (kv_bytes_per_sequence), except under sparse attention (DSA), where the indexer reads its keys of
    every token but the attention only the latents of the top_k tokens it picked."""
    sa = model.sparse_attention
    if sa is None:
        return kv_bytes_per_sequence(model, kv_precision, tokens)
    return model.layers * (_latent_bytes(model, kv_precision) * min(tokens, sa.top_k_tokens) + sa.indexer_cache_bytes_per_token * tokens)


def sequence_bytes(model: LlmModel, kv_precision: Precision | str, tokens: int) -> float:
    """What one sequence of `tokens` tokens keeps, whole model: its KV and any linear-attention state."""
    return kv_bytes_per_sequence(model, kv_precision, tokens) + (model.linear_attention.state_bytes_per_sequence if model.linear_attention else 0.0)


def state_bytes_per_gpu(model: LlmModel, tp: int, pp: int) -> float:
    """A sequence's linear-attention state on one GPU (0 without linear layers): the value heads split
    over TP (sglang Mamba2StateShape), the layers over PP."""
    la = model.linear_attention
    return la.state_bytes_per_sequence / (tp * pp) if la else 0.0


#: SGLang keeps linear-attention states in a pool of their own: mamba_full_memory_ratio 0.9 of the
#: full layers' KV pool (state / KV = 0.9), and runs at most a third of its state slots at once
#: (MAMBA_CACHE_SIZE_MAX_RUNNING_REQUESTS_RATIO 3, with the radix cache on as by default) — sglang
#: 0.5.9 server_args.py and model_runner_kv_cache_mixin.py (handle_max_mamba_cache)
SGLANG_STATE_TO_KV_RATIO = 0.9
SGLANG_STATE_SLOTS_PER_RUNNING = 3


def kv_share_per_gpu(model: LlmModel, tp: int, pp: int) -> float:
    """Fraction of a sequence's KV that one GPU holds (> 1/(tp*pp) when KV heads are replicated)."""
    if model.mla is not None:
        return 1.0 / pp
    per_gpu_heads = max(1.0, model.kv_heads / tp)
    return per_gpu_heads / model.kv_heads / pp


def guide_total_gb(params_b: float, precision: Precision | str, context_tokens: int) -> tuple[float, float]:
    """The guide's rule: (weights GB, context GB)."""
    return params_b * GUIDE_FACTOR_GB_PER_B[_p(precision)], context_tokens * GUIDE_MB_PER_TOKEN / 1024


@dataclass(frozen=True)
class MemoryPlan:
    """Memory of one GPU of a replica (GiB) and the concurrency it allows."""

    weights_gib: float
    kv_cache_gib: float  # KV of the requested concurrency at typical length
    activations_gib: float
    overhead_gib: float
    available_gib: float  # usable device memory
    kv_pool_gib: float  # what the engine's memory rule leaves for KV
    kv_per_sequence_gib: float  # per GPU, typical sequence (prompt + output)
    kv_full_context_gib: float  # per GPU, one sequence at the full context
    max_concurrency: int  # sequences at typical length that fit the pool (and the engine runs at once)
    fits: bool
    reason: str | None
    running_cap: int | None = None  # requests the engine runs at once (Engine.running_cap with this pool); None: what the KV holds

    @property
    def total_gib(self) -> float:
        return self.weights_gib + self.kv_cache_gib + self.activations_gib + self.overhead_gib

    def as_dict(self) -> dict[str, float]:
        r = lambda x: round(x, 3)  # noqa: E731
        return {
            "weights": r(self.weights_gib),
            "kv_cache": r(self.kv_cache_gib),
            "activations": r(self.activations_gib),
            "overhead": r(self.overhead_gib),
            "total": r(self.total_gib),
            "available": r(self.available_gib),
            "kv_pool": r(self.kv_pool_gib),
        }


def token_budget(engine: Engine, gpu: Gpu) -> int:
    """Tokens one forward pass of the engine carries on this GPU — its prefill chunk and the prompt tokens its
    activation workspace is sized for: the catalog's rule (vLLM: 8,192 on GPUs of 70 GiB or more not named
    A100, else 2,048), SGLang's chunked_prefill_size by GPU memory (sglang_chunk_tokens), the ggml servers'
    n_batch (2,048), else TOKEN_BUDGET."""
    stated = engine.stated_token_budget(gpu)
    if stated is not None:
        return stated
    if engine.memory.rule == "sglang_reserve":
        return sglang_chunk_tokens(gpu.memory_gib_usable)
    return TOKEN_BUDGET if engine.parallelism.tensor_parallel else TOKEN_BUDGET_GGUF


def token_budget_default(engine: Engine) -> str:
    """In words, the budget token_budget gives an engine whose catalog entry states none."""
    if engine.memory.rule == "sglang_reserve":
        return "; ".join(f"{t} below {g} GiB" for g, t in SGLANG_CHUNK_TOKENS[:-1]) + f"; {SGLANG_CHUNK_TOKENS[-1][1]}"
    return f"{TOKEN_BUDGET} (assumed)" if engine.parallelism.tensor_parallel else f"{TOKEN_BUDGET_GGUF} (n_batch)"


#: SGLang 0.5.8.post1's chunked_prefill_size by GPU memory (`ServerArgs._handle_gpu_memory_settings`):
#: (below this many GiB, tokens), the last for any larger GPU
SGLANG_CHUNK_TOKENS = ((35, 2048), (60, 4096), (160, 8192), (math.inf, 16384))


def sglang_chunk_tokens(gpu_gib: float) -> int:
    return next(t for g, t in SGLANG_CHUNK_TOKENS if gpu_gib < g)


def sglang_reserved_gib(gpu_gib: float, tp: int, pp: int) -> float:
    """Memory SGLang keeps out of its static pool (weights + KV cache) on one GPU, in GiB.

    SGLang 0.5.8.post1, `ServerArgs._handle_gpu_memory_settings` (defaults: no speculative decoding, no
    DP attention, no piecewise CUDA graphs): chunked_prefill_size and cuda_graph_max_bs by GPU memory,
    reserved = 512 + 1.5 x max(chunk, 2048) + 2 x graph_bs + 1024 x TP x PP / 8 MiB, at least 10 GiB on
    GPUs above 60 GiB; mem_fraction_static = round((GPU - reserved) / GPU, 3).  Activations and CUDA
    graphs live in the reserve, so they are not subtracted again."""
    mib = gpu_gib * 1024
    chunk = sglang_chunk_tokens(gpu_gib)
    if mib < 20 * 1024:
        graph_bs = 8
    elif mib < 35 * 1024:
        graph_bs = 24 if tp < 4 else 80
    elif mib < 60 * 1024:
        graph_bs = 32 if tp < 4 else 160
    elif mib < 160 * 1024:
        graph_bs = 256 if tp < 4 else 512
    else:
        graph_bs = 512
    reserved = 512 + 1.5 * max(chunk, 2048) + 2 * graph_bs + 1024 * tp * pp / 8
    if mib > 60 * 1024:
        reserved = max(reserved, 10 * 1024)
    fraction = round((mib - reserved) / mib, 3)
    return gpu_gib * (1 - fraction)


def workspace_gib(model: LlmModel, engine: Engine, gpu: Gpu, tp: int, pp: int, context: int) -> tuple[float, float]:
    """(activations, overhead) per GPU in GiB."""
    tokens = min(token_budget(engine, gpu), max(context, 1))
    if model.moe is not None:
        ffn = model.moe.expert_intermediate_size * (model.moe.experts_per_token + model.moe.shared_experts)
    else:
        ffn = model.intermediate_size
    qkv = (model.attention_heads + 2 * model.kv_heads) * model.head_dim
    act_bytes = tokens * (3 * model.hidden_size + (2 * ffn + qkv) / tp) * 2
    # engines profile their peak at start-up with the maximum batch (vLLM's sampler with max_num_seqs
    # sequences: Engine.running_cap), so this does not depend on the load
    logits = (engine.running_cap(gpu) or MAX_SAMPLED_SEQS) * model.vocab_size / tp * 4
    activations = (act_bytes + logits) / GIB
    overhead = RUNTIME_RESERVE_GIB
    if engine.feature_status("cuda_graph", gpu.compat_key) == "yes":
        overhead += CUDA_GRAPH_GIB
    if tp * pp > 1:
        overhead += COMM_BUFFER_GIB_BASE + COMM_BUFFER_GIB_PER_RANK * tp * pp
    return activations, overhead


def plan_memory(
    model: LlmModel,
    gpu: Gpu,
    engine: Engine,
    precision: Precision | str,
    kv_precision: Precision | str,
    tp: int,
    pp: int,
    concurrency: int,
    seq_tokens: int,
    context: int,
    rule: str = "exact",
) -> MemoryPlan:
    """Memory of one GPU for `concurrency` sequences of `seq_tokens` tokens (and one of `context`).

    rule="guide": the guide's rule per GPU - params x factor and 0.5 MB per token, split evenly over
    TP x PP, with 100% of the labelled memory usable and no workspace (as the guide's table assumes).
    """
    if rule == "guide":
        return _plan_guide(model, gpu, engine, precision, tp, pp, concurrency, seq_tokens, context)
    shards = tp * pp
    weights = weight_bytes(model, precision) / shards / GIB
    share = kv_share_per_gpu(model, tp, pp)
    kv_seq = kv_bytes_per_sequence(model, kv_precision, seq_tokens) * share / GIB
    kv_full = kv_bytes_per_sequence(model, kv_precision, context) * share / GIB
    token_gib = kv_full / context  # a token's KV per GPU
    state = state_bytes_per_gpu(model, tp, pp) / GIB
    activations, overhead = workspace_gib(model, engine, gpu, tp, pp, context)
    available = gpu.memory_gib_usable
    rule, f = engine.memory.rule, engine.memory.fraction
    if rule == "fraction_of_total":
        pool = f * available - weights - activations - overhead
    elif rule == "fraction_of_free_after_weights":
        pool = f * (available - weights - activations - overhead)
    elif rule == "sglang_reserve":
        reserved = sglang_reserved_gib(available, tp, pp)
        pool = available - reserved - weights
        activations, overhead = min(activations, reserved), max(reserved - activations, 0.0)  # the reserve holds both
    else:
        pool = available - weights - activations - overhead
    state_cap = None
    if state > 0 and rule == "sglang_reserve" and pool > 0:
        # a state pool of its own, allocated whole at start-up (so in the overhead), and a cap of a third of its slots
        slots = math.floor(pool * SGLANG_STATE_TO_KV_RATIO / (1 + SGLANG_STATE_TO_KV_RATIO) / state)
        pool -= slots * state
        overhead += slots * state
        state_cap = slots // SGLANG_STATE_SLOTS_PER_RUNNING
    elif state > 0:  # one pool: each running sequence holds its state beside its tokens' KV
        kv_seq, kv_full = kv_seq + state, kv_full + state
    # an engine may cap its running requests by its pool's tokens (SGLang)
    pool_tokens = pool / token_gib if pool > 0 and token_gib > 0 else 0.0
    cap = engine.running_cap(gpu, pool_tokens, model.native_context)
    if state_cap is not None:
        cap = state_cap if cap is None else min(cap, state_cap)
    return _fit(cap, weights, kv_seq, kv_full, activations, overhead, available, pool, concurrency,
                context, rule if f is None else f"{rule} {f}", "GiB")


def _fit(running_cap: int | None, weights: float, kv_seq: float, kv_full: float, activations: float, overhead: float,
         available: float, pool: float, concurrency: int, context: int, rule: str, unit: str) -> MemoryPlan:
    """Concurrency the KV pool holds and whether `concurrency` sequences fit, with the reason if not
    (`running_cap`: Engine.running_cap on this GPU and pool)."""
    max_conc = int(math.floor(pool / kv_seq)) if kv_seq > 0 and pool > 0 else 0
    held = concurrency  # sequences whose KV is resident; an engine serving P at a time holds P
    if running_cap is not None:
        max_conc = min(max_conc, running_cap)
        held = min(concurrency, running_cap)
    reason = None
    if pool <= 0:
        reason = f"weights ({weights:.1f} {unit}/GPU) and workspace leave no KV cache in {available:.0f} {unit} ({rule})"
    elif kv_full > pool:
        reason = f"one {context}-token sequence needs {kv_full:.1f} {unit} of KV per GPU; the pool holds {pool:.1f} {unit} ({rule})"
    elif max_conc < held:
        reason = f"{held} sequences need {kv_seq * held:.1f} {unit} of KV per GPU; the pool holds {pool:.1f} {unit} ({max_conc} sequences)"
    return MemoryPlan(weights_gib=weights, kv_cache_gib=kv_seq * held, activations_gib=activations, overhead_gib=overhead,
                      available_gib=available, kv_pool_gib=max(pool, 0.0), kv_per_sequence_gib=kv_seq,
                      kv_full_context_gib=kv_full, max_concurrency=max_conc if kv_full <= pool else 0,
                      fits=reason is None, reason=reason, running_cap=running_cap)


def _plan_guide(model: LlmModel, gpu: Gpu, engine: Engine, precision: Precision | str, tp: int, pp: int,
                concurrency: int, seq_tokens: int, context: int) -> MemoryPlan:
    shards = tp * pp
    w_gb, _ = guide_total_gb(model.params_nominal_b, precision, 0)
    weights = w_gb / shards
    per_tok = GUIDE_MB_PER_TOKEN / 1024 / shards
    kv_seq, kv_full = per_tok * seq_tokens, per_tok * context
    available = gpu.memory_gb_labelled
    pool = available - weights
    return _fit(engine.running_cap(gpu), weights, kv_seq, kv_full, 0.0, 0.0, available, pool, concurrency, context,
                "guide rule: 100% of the labelled memory", "GB")
