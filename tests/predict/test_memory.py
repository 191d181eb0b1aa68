"""Memory model: KV formulas per architecture, sharding, engine memory rules, and the guide's rule."""

from __future__ import annotations

import pytest

from solver.predict.memory import (
    GIB,
    guide_total_gb,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
    kv_bytes_read_per_sequence,
    kv_share_per_gpu,
    plan_memory,
    sglang_reserved_gib,
    weight_bytes,
)
from solver.schema.precision import Precision as P


def test_kv_bytes_per_token_equals_architecture_formula_for_every_model(catalog):
    for m in catalog.models.values():
        if m.mla is not None:
            # DSA models also cache the indexer's FP8 key (+ scale) per token and layer
            indexer = m.sparse_attention.indexer_cache_bytes_per_token if m.sparse_attention else 0
            expected = ((m.mla.kv_lora_rank + m.mla.qk_rope_head_dim) * 2 + indexer) * m.layers
        else:
            expected = 2 * m.global_layers * m.kv_heads * m.head_dim * 2
        assert kv_bytes_per_token(m, "bf16") == expected == m.kv_bytes_per_token_bf16, m.id


def test_sparse_attention_stores_every_token_but_reads_top_k_latents(catalog):
    """GLM-5 (DSA): the cache grows with the context (latent + indexer key per token); a decode step
    reads the indexer keys of every token but the latents of only the top 2,048."""
    m = catalog.model("glm-5")
    sa, latent = m.sparse_attention, (m.mla.kv_lora_rank + m.mla.qk_rope_head_dim) * 2
    assert (sa.top_k_tokens, sa.indexer_cache_bytes_per_token) == (2048, 128 + 4)
    k = sa.top_k_tokens
    assert kv_bytes_per_sequence(m, P.bf16, 4 * k) == 4 * kv_bytes_per_sequence(m, P.bf16, k)
    assert kv_bytes_read_per_sequence(m, P.bf16, k) == kv_bytes_per_sequence(m, P.bf16, k)
    assert kv_bytes_read_per_sequence(m, P.bf16, 4 * k) == m.layers * (latent * k + sa.indexer_cache_bytes_per_token * 4 * k)
    # FP8 KV halves the latents, not the indexer cache (FP8 already)
    assert kv_bytes_per_token(m, P.fp8) == m.layers * (latent / 2 + sa.indexer_cache_bytes_per_token)
    dense = catalog.model("deepseek-v3")  # no DSA: reads what it stores
    assert kv_bytes_read_per_sequence(dense, P.bf16, 4 * k) == kv_bytes_per_sequence(dense, P.bf16, 4 * k)


def test_linear_attention_state_per_sequence_is_sglangs(catalog):
    """Qwen3.5's 45 Gated DeltaNet layers keep, per sequence, an FP32 value_heads x value_dim x key_dim
    state and a BF16 conv state of (conv_dim, kernel - 1) — sglang's mamba_cache_per_req per TP rank;
    only its 15 full-attention layers cache KV per token."""
    from solver.predict.memory import sequence_bytes, state_bytes_per_gpu

    m = catalog.model("Qwen/Qwen3.5-397B-A17B")
    la = m.linear_attention
    assert (la.layers, m.global_layers, m.kv_bytes_per_token_bf16) == (45, 15, 2 * 15 * 2 * 256 * 2)
    tp = 8
    conv_dim = 2 * 16 * 128 + 64 * 128
    per_rank = 45 * ((conv_dim // tp) * (4 - 1) * 2 + (64 // tp) * 128 * 128 * 4)  # sglang Mamba2StateShape
    assert state_bytes_per_gpu(m, tp, 1) == per_rank == 24_007_680
    assert sequence_bytes(m, P.bf16, 1000) == kv_bytes_per_sequence(m, P.bf16, 1000) + per_rank * tp
    assert state_bytes_per_gpu(catalog.model("llama-3.1-8b"), 1, 1) == 0


def test_sglang_keeps_linear_attention_states_in_a_pool_of_their_own(catalog):
    """SGLang splits its budget 0.9 : 1 between a state pool (allocated whole) and the full layers' KV
    pool, and runs at most a third of its state slots; vLLM holds each running sequence's state in its
    one pool."""
    import math

    from solver.predict.memory import SGLANG_STATE_TO_KV_RATIO, state_bytes_per_gpu

    m, g = catalog.model("qwen3.5-397b-a17b"), catalog.gpu("h200-sxm")
    state = state_bytes_per_gpu(m, 8, 1) / GIB
    sg = plan_memory(m, g, catalog.engine("sglang"), P.fp8, P.bf16, 8, 1, 64, 2048, 2048)
    budget = g.memory_gib_usable - sglang_reserved_gib(g.memory_gib_usable, 8, 1) - weight_bytes(m, P.fp8) / 8 / GIB
    slots = math.floor(budget * SGLANG_STATE_TO_KV_RATIO / (1 + SGLANG_STATE_TO_KV_RATIO) / state)
    assert sg.kv_pool_gib == pytest.approx(budget - slots * state)
    assert sg.overhead_gib > slots * state  # allocated at start-up, whatever the load
    assert sg.running_cap == slots // 3 and sg.max_concurrency <= slots // 3
    assert sg.kv_per_sequence_gib == pytest.approx(kv_bytes_per_sequence(m, P.bf16, 2048) * kv_share_per_gpu(m, 8, 1) / GIB)
    vl = plan_memory(m, g, catalog.engine("vllm"), P.fp8, P.bf16, 8, 1, 64, 2048, 2048)
    assert vl.kv_per_sequence_gib == pytest.approx(sg.kv_per_sequence_gib + state)


def test_sparse_attention_needs_mla(catalog):
    from pydantic import ValidationError

    raw = catalog.model("llama-3.1-8b").model_dump()
    raw["sparse_attention"] = catalog.model("glm-5").sparse_attention.model_dump()
    with pytest.raises(ValidationError, match="sparse_attention"):
        type(catalog.model("llama-3.1-8b")).model_validate(raw)


def test_fp8_kv_halves_it(catalog):
    m = catalog.model("llama-3.1-8b")
    assert kv_bytes_per_token(m, P.fp8) * 2 == kv_bytes_per_token(m, P.bf16)


def test_sliding_window_layers_are_capped(catalog):
    m = catalog.model("gemma-3-27b")
    w = m.sliding_window.window_tokens
    short = kv_bytes_per_sequence(m, P.bf16, w)
    long = kv_bytes_per_sequence(m, P.bf16, 8 * w)
    glob = kv_bytes_per_token(m, P.bf16)
    assert long - short == pytest.approx(glob * 7 * w)  # only global layers keep growing


def test_kv_heads_replicated_when_fewer_than_tp(catalog):
    m = catalog.model("llama-3.1-8b")  # 8 KV heads
    assert kv_share_per_gpu(m, 8, 1) == pytest.approx(1 / 8)
    assert kv_share_per_gpu(m, 16, 1) == pytest.approx(1 / 8)  # 1 head per GPU, replicated twice
    mla = catalog.model("deepseek-v3")
    assert kv_share_per_gpu(mla, 8, 1) == 1.0  # latent replicated on every TP rank
    assert kv_share_per_gpu(mla, 8, 2) == 0.5


def test_weights_scale_with_precision_and_keep_embeddings_16bit(catalog):
    m = catalog.model("llama-3.1-8b")
    bf16, fp8 = weight_bytes(m, P.bf16), weight_bytes(m, P.fp8)
    assert bf16 == pytest.approx(2 * m.params_total)
    embed = (m.embedding_params + m.lm_head_params) * 2
    assert fp8 == pytest.approx((m.params_total - m.embedding_params - m.lm_head_params) * (1 + 4 / 16384) + embed)


@pytest.mark.parametrize(("model", "published_gib"), [("gpt-oss-120b", 60.8), ("gpt-oss-20b", 12.8)])
def test_gpt_oss_fp4_is_its_published_checkpoint(catalog, model, published_gib):
    """gpt-oss ships MXFP4 experts (1 scale byte per 32 values) and BF16 attention and router: the weights
    match the model card's checkpoint size (reference/models.yaml); uniform NVFP4 gave 62.75 / 12.51 GiB."""
    m = catalog.model(model)
    assert weight_bytes(m, P.fp4) / GIB == pytest.approx(published_gib, rel=0.005)
    # other precisions are the uniform formats: the checkpoint's layout is that of fp4 only
    body = m.params_total - m.embedding_params - m.lm_head_params
    assert weight_bytes(m, P.fp8) == pytest.approx(body * (1 + 4 / 16384) + (m.embedding_params + m.lm_head_params) * 2)


def test_checkpoint_of_experts_needs_a_moe_model(tmp_path):
    from solver.errors import CatalogError
    from solver.schema.catalog import load_catalog

    p = tmp_path / "bad.yaml"
    p.write_text("models:\n- id: llama-3.1-8b\n  checkpoint: {precision: fp4, modules: experts, "
                 "scale_bytes_per_param: 0.03125, source: [x]}\n")
    with pytest.raises(CatalogError) as e:
        load_catalog([p])
    assert f"{p}:3: models[id=llama-3.1-8b].checkpoint" in str(e.value) and "needs a MoE model" in str(e.value)


def test_guide_rule_reproduces_the_worked_example():
    weights, context = guide_total_gb(70, P.fp8, 128_000)
    assert (weights, context) == (70.0, 62.5)


def test_engine_memory_rules_differ(catalog):
    m, g = catalog.model("llama-3.1-8b"), catalog.gpu("h100-sxm")
    vllm = plan_memory(m, g, catalog.engine("vllm"), P.bf16, P.bf16, 1, 1, 1, 2048, 2048)
    trt = plan_memory(m, g, catalog.engine("tensorrt-llm"), P.bf16, P.bf16, 1, 1, 1, 2048, 2048)
    free = g.memory_gib_usable - trt.weights_gib - trt.activations_gib - trt.overhead_gib  # its own workspace
    assert vllm.kv_pool_gib == pytest.approx(0.9 * g.memory_gib_usable - vllm.weights_gib - vllm.activations_gib - vllm.overhead_gib)
    assert trt.kv_pool_gib == pytest.approx(0.9 * free)


@pytest.mark.parametrize(("gib", "tp", "fraction"), [(80, 1, 0.836), (141, 8, 0.897), (24, 1, 0.847), (192, 8, 0.862)])
def test_sglang_pool_is_its_own_formula(catalog, gib, tp, fraction):
    """SGLang 0.5.8.post1 _handle_gpu_memory_settings, worked by hand: H100 TP1 reserves 512 + 1.5 x 8192
    + 2 x 256 + 128 = 13,440 MiB of 81,920 -> mem_fraction_static 0.836; the pool is that share of the GPU
    minus the weights (activations and CUDA graphs live in the reserve)."""
    assert 1 - sglang_reserved_gib(gib, tp, 1) / gib == pytest.approx(fraction, abs=1e-9)
    m, g = catalog.model("qwen3-32b"), catalog.gpu("h100-sxm")
    plan = plan_memory(m, g, catalog.engine("sglang"), P.bf16, P.bf16, 1, 1, 1, 2048, 2048)
    assert plan.kv_pool_gib == pytest.approx(0.836 * g.memory_gib_usable - plan.weights_gib)


def test_a_fraction_the_rule_would_ignore_is_refused(tmp_path):
    from solver.errors import CatalogError
    from solver.schema.catalog import load_catalog

    p = tmp_path / "bad.yaml"
    p.write_text("engines:\n- id: sglang\n  memory: {rule: sglang_reserve, fraction: 0.9, source: [x]}\n")
    with pytest.raises(CatalogError) as e:
        load_catalog([p])
    assert "engines[id=sglang].memory.fraction" in str(e.value) and "would be ignored" in str(e.value)


def test_does_not_fit_gives_reason_and_zero_concurrency(catalog):
    m, g = catalog.model("llama-3.1-70b"), catalog.gpu("l4")
    plan = plan_memory(m, g, catalog.engine("vllm"), P.bf16, P.bf16, 1, 1, 1, 1024, 1024)
    assert not plan.fits and plan.max_concurrency == 0 and "weights" in plan.reason


def test_ollama_holds_one_sequence(catalog):
    m, g = catalog.model("llama-3.1-8b"), catalog.gpu("l40s")
    plan = plan_memory(m, g, catalog.engine("ollama"), P.int4, P.fp16, 1, 1, 50, 2048, 8192)
    assert plan.max_concurrency == 1 and plan.fits
    assert plan.kv_cache_gib == pytest.approx(plan.kv_per_sequence_gib)


def test_sampler_reserve_follows_the_running_cap(catalog):
    """vLLM profiles its sampler with max_num_seqs sequences of fp32 logits: 1,024 on an H100 (its default
    there), so 768 x vocab x 4 bytes per TP rank more than with --max-num-seqs 256."""
    m, g, vllm = catalog.model("llama-3.1-70b"), catalog.gpu("h100-sxm"), catalog.engine("vllm")
    capped = vllm.model_copy(update={"max_parallel_requests": 256})
    default, small = (plan_memory(m, g, e, P.fp8, P.bf16, 2, 1, 16, 1280, 1280) for e in (vllm, capped))
    assert default.activations_gib - small.activations_gib == pytest.approx(768 * m.vocab_size / 2 * 4 / GIB)


def test_weights_per_gpu_shard_over_tp_pp(catalog):
    m, g = catalog.model("llama-3.1-70b"), catalog.gpu("h100-sxm")
    one = plan_memory(m, g, catalog.engine("vllm"), P.fp8, P.bf16, 2, 1, 1, 1024, 1024).weights_gib
    four = plan_memory(m, g, catalog.engine("vllm"), P.fp8, P.bf16, 2, 2, 1, 1024, 1024).weights_gib
    assert four == pytest.approx(one / 2)
    assert one == pytest.approx(weight_bytes(m, P.fp8) / 2 / GIB)


def test_token_budget_follows_each_engine_default_by_gpu(catalog):
    """vLLM's API server batches 8,192 tokens per pass on GPUs of 70 GiB or more not named A100 and 2,048
    elsewhere (vllm 0.12.0 get_batch_defaults); SGLang's chunk follows its GPU-memory table; the ggml servers
    take n_batch.  A smaller budget means a smaller activation workspace and more prefill chunks."""
    from solver.predict.fabric import fabric_of
    from solver.predict.memory import token_budget, workspace_gib
    from solver.predict.speed import ReplicaSpeed

    vllm, h100, a100, l40s = catalog.engine("vllm"), catalog.gpu("h100-sxm"), catalog.gpu("a100-sxm4-80gb"), catalog.gpu("l40s")
    assert [token_budget(vllm, g) for g in (h100, a100, l40s)] == [8192, 2048, 2048]
    assert [token_budget(catalog.engine("sglang"), g) for g in (h100, l40s, catalog.gpu("b200"))] == [8192, 4096, 16384]
    assert token_budget(catalog.engine("llama.cpp"), h100) == 2048
    m = catalog.model("llama-3.1-8b")
    act_h100, _ = workspace_gib(m, vllm, h100, 1, 1, 32768)
    act_a100, _ = workspace_gib(m, vllm, a100, 1, 1, 32768)
    assert act_a100 < act_h100
    server = next(s for s in catalog.servers.values() if s.gpu == a100.id)
    factors, _ = catalog.factors("vllm", a100.compat_key)
    speed = ReplicaSpeed(m, a100, fabric_of(server, a100), P.bf16, True, P.bf16, 1, 1, 8192, 128, factors,
                         chunk_tokens=token_budget(vllm, a100))
    assert speed.n_chunks == 4


def test_sglang_caps_running_requests_by_its_pool(catalog):
    """SGLang 0.5.8.post1 runs at most min(max(pool tokens / context x 512, 2,048), 4,096) requests, and
    at most pool tokens / 2: a 1B model on one H200 holds far more short chats in KV than that (4,096 run,
    the rest queue); a pool of 300 tokens caps at 150; without a pool the rule does not apply."""
    m, g, sglang = catalog.model("llama-3.2-1b"), catalog.gpu("h200-sxm"), catalog.engine("sglang")
    plan = plan_memory(m, g, sglang, P.bf16, P.bf16, 1, 1, 8000, 384, 384)
    pool_tokens = plan.kv_pool_gib / (plan.kv_full_context_gib / 384)
    assert pool_tokens / m.native_context * 512 > 4096 and pool_tokens / 384 > 8000
    assert plan.running_cap == plan.max_concurrency == 4096 and plan.fits
    rule = sglang.scheduling.max_running_from_pool
    assert rule.cap(1_000_000, 131072) == 3906 and rule.cap(300, 131072) == 150
    assert sglang.running_cap(g) is None
    vllm = plan_memory(m, g, catalog.engine("vllm"), P.bf16, P.bf16, 1, 1, 8000, 384, 384)
    assert vllm.running_cap == 1024


def test_a_pass_streams_every_weight_but_an_untied_input_embedding(catalog):
    """A forward pass gathers only its tokens' rows of an untied input embedding table; a tied table is
    the LM head too, so it is streamed whole.  Llama-3.1-8B FP8 keeps its 128,256 x 4,096 embedding in
    BF16: 1.05 GB of its 9.1 GB are resident but not streamed."""
    from solver.predict.memory import streamed_weight_bytes

    untied, tied = catalog.model("llama-3.1-8b"), catalog.model("llama-3.2-1b")
    assert not untied.tie_word_embeddings and tied.tie_word_embeddings
    assert weight_bytes(untied, P.fp8) - streamed_weight_bytes(untied, P.fp8) == pytest.approx(128_256 * 4_096 * 2)
    assert streamed_weight_bytes(untied, P.bf16) == pytest.approx(weight_bytes(untied, P.bf16) - 128_256 * 4_096 * 2)
    assert streamed_weight_bytes(tied, P.fp8) == weight_bytes(tied, P.fp8)
