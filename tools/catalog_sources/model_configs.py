"""Model entries for models known only by their Hugging Face config.json (reference/model_configs/):
parameter counts by the reference's convention (GQA MoE, MLA MoE, hybrid linear-attention MoE), INT4
group-quantised checkpoints, DeepSeek Sparse Attention and Gated DeltaNet layers."""

from __future__ import annotations

import json
from pathlib import Path


def gqa_moe_params(c: dict) -> tuple[int, int, int]:
    """(total, active per token, embedding) parameters of a GQA mixture-of-experts decoder from its
    Hugging Face config (Mixtral-style keys: num_local_experts, intermediate_size = expert width),
    with the convention of reference/models.yaml (embeddings + lm_head if untied + every layer +
    norms; MTP modules excluded).  Reproduces that file's counts for Qwen3-235B-A22B
    and Qwen3-30B-A3B exactly (tests/schema/test_catalog.py)."""
    h, hd, heads, kvh = c["hidden_size"], c["head_dim"], c["num_attention_heads"], c["num_key_value_heads"]
    experts, k, inter = c["num_local_experts"], c["num_experts_per_tok"], c["intermediate_size"]
    attn = h * heads * hd + 2 * h * kvh * hd + heads * hd * h
    # q/k RMSNorm: over the whole projection ('per_layer') or shared by the heads (Qwen3: per head)
    qk_norm = (heads * hd + kvh * hd) if c.get("qk_norm_type") == "per_layer" else 2 * hd if c.get("use_qk_norm", True) else 0
    router = h * experts + (experts if c.get("use_routing_bias") else 0)
    fixed = attn + qk_norm + 2 * h + router
    emb = c["vocab_size"] * h
    outer = h + emb * (1 if c.get("tie_word_embeddings") else 2)
    layers = c["num_hidden_layers"]
    return (layers * (fixed + experts * 3 * h * inter) + outer, layers * (fixed + k * 3 * h * inter) + outer, emb)


def mla_moe_params(c: dict) -> tuple[int, int, int]:
    """(total, active per token, embedding) parameters of a DeepSeek-V3-style decoder (MLA attention,
    `first_k_dense_replace` dense layers, then routed + shared experts) from its Hugging Face config,
    with the convention of reference/models.yaml (as gqa_moe_params; the noaux_tc router's correction
    bias counted; a DSA model's indexer counted with its layer).  Given Kimi-K2.5's text config it
    reproduces that file's Kimi-K2 counts exactly (the same text architecture; tests/schema/test_catalog.py)."""
    h, heads, kv_rank = c["hidden_size"], c["num_attention_heads"], c["kv_lora_rank"]
    nope, rope, v, q_rank = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"], c.get("q_lora_rank")
    q = h * q_rank + q_rank + q_rank * heads * (nope + rope) if q_rank else h * heads * (nope + rope)
    attn = q + h * (kv_rank + rope) + kv_rank + kv_rank * heads * (nope + v) + heads * v * h
    experts, k, inter, dense = c["n_routed_experts"], c["num_experts_per_tok"], c["moe_intermediate_size"], c["first_k_dense_replace"]
    moe_fixed = (c.get("n_shared_experts") or 0) * 3 * h * inter + h * experts + (experts if c.get("topk_method") == "noaux_tc" else 0)
    emb = c["vocab_size"] * h
    outer = h + emb * (1 if c.get("tie_word_embeddings") else 2)
    if "index_topk" in c:  # DSA's lightning indexer (SGLang nsa_indexer.Indexer): wq_b, wk, weights_proj, k_norm
        ih, idim = c["index_n_heads"], c["index_head_dim"]
        attn += q_rank * ih * idim + h * idim + h * ih + 2 * idim
    layers = c["num_hidden_layers"]
    body = layers * (attn + 2 * h) + dense * 3 * h * c["intermediate_size"] + outer
    moe_layers = layers - dense
    return (body + moe_layers * (moe_fixed + experts * 3 * h * inter), body + moe_layers * (moe_fixed + k * 3 * h * inter), emb)


def hybrid_moe_params(c: dict) -> tuple[int, int, int]:
    """(total, active per token, embedding) parameters of a Qwen3-Next / Qwen3.5 hybrid MoE decoder from
    its text config, with the convention of reference/models.yaml (MTP and vision excluded).  The module
    shapes are sglang 0.5.9's (srt/models/qwen3_5.py): a full-attention layer's qkv_proj carries a gate
    as wide as the queries (attn_output_gate) and q/k norms of head_dim; a Gated DeltaNet layer has
    in_proj_qkv (2 key + value widths), in_proj_z (value width), in_proj_b and in_proj_a (one per value
    head), a conv1d over q, k, v (kernel taps each, no bias), dt_bias and A_log per value head, a gated
    RMSNorm of value_head_dim and out_proj; every layer is MoE (router, routed experts, one shared
    expert and its 1-wide gate; sglang qwen2_moe.py)."""
    h, layers, types = c["hidden_size"], c["num_hidden_layers"], c["layer_types"]
    full, linear = types.count("full_attention"), types.count("linear_attention")
    assert full + linear == layers, types
    heads, kvh, hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    attn_full = h * heads * hd * (2 if c.get("attn_output_gate") else 1) + 2 * h * kvh * hd + heads * hd * h + 2 * hd
    vh, kdim, vdim = c["linear_num_value_heads"], c["linear_num_key_heads"] * c["linear_key_head_dim"], c["linear_num_value_heads"] * c["linear_value_head_dim"]
    conv_dim = 2 * kdim + vdim
    attn_linear = h * conv_dim + h * vdim + 2 * h * vh + conv_dim * c["linear_conv_kernel_dim"] + 2 * vh + c["linear_value_head_dim"] + vdim * h
    experts, k, inter = c["num_experts"], c["num_experts_per_tok"], c["moe_intermediate_size"]
    moe_fixed = h * experts + 3 * h * c["shared_expert_intermediate_size"] + h
    emb = c["vocab_size"] * h
    outer = h + emb * (1 if c.get("tie_word_embeddings") else 2)
    body = full * attn_full + linear * attn_linear + layers * (2 * h + moe_fixed) + outer
    return body + layers * experts * 3 * h * inter, body + layers * k * 3 * h * inter, emb


def int4_group_checkpoint(file: str, c: dict) -> dict:
    """The layout of a compressed-tensors checkpoint whose routed experts alone are INT4 (the `ignore`
    list keeps attention, shared experts, dense MLPs and lm_head 16-bit): per `group_size` values one
    scale in the weight's dtype (2 bytes for BF16), and no zero point when symmetric."""
    w = c["quantization_config"]["config_groups"]["group_0"]["weights"]
    assert w["num_bits"] == 4 and w["type"] == "int" and w["symmetric"] and w["strategy"] == "group", w
    return {"precision": "int4", "modules": "experts", "scale_bytes_per_param": round(2 / w["group_size"], 6),
            "source": [f"shared/reference/model_configs/{file} (quantization_config: compressed-tensors pack-quantized, "
                       f"int{w['num_bits']} symmetric, group_size {w['group_size']}; ignore: lm_head, self_attn, "
                       "shared_experts, dense mlp)",
                       "compressed-tensors 0.12.2 wheel (pypi), quantization/lifecycle/initialize.py: the scale takes the "
                       "weight's dtype (BF16 here); a zero point only when asymmetric"]}


#: DSA's indexer cache per token and layer: its key in FP8 plus one FP32 scale per 128 values
#: (sglang 0.5.9 wheel, srt/mem_cache/memory_pool.py NSATokenToKVPool: index_head_dim + index_head_dim //
#: quant_block_size * 4 bytes, quant_block_size 128; the same in model_runner_kv_cache_mixin's cell size)
SGLANG_NSA_SRC = ("sglang 0.5.9 wheel (pypi): srt/mem_cache/memory_pool.py NSATokenToKVPool (indexer key FP8 + FP32 scale "
                  "per 128 values, per token per layer); srt/layers/attention/nsa/nsa_indexer.py Indexer (wq_b, wk, "
                  "weights_proj, k_norm)")


def sparse_attention(file: str, c: dict) -> dict | None:
    if "index_topk" not in c:
        return None
    d = c["index_head_dim"]
    return {"top_k_tokens": c["index_topk"], "indexer_heads": c["index_n_heads"], "indexer_head_dim": d,
            "indexer_cache_bytes_per_token": d + d // 128 * 4,
            "source": [f"shared/reference/model_configs/{file} (index_topk, index_n_heads, index_head_dim)", SGLANG_NSA_SRC]}


def linear_attention(file: str, c: dict) -> dict:
    """A Gated DeltaNet hybrid's per-sequence state: FP32 recurrent state unless config mamba_ssm_dtype says
    otherwise (sglang 0.5.9 configs/mamba_utils.py mamba2_state_dtype: default float32), conv state in BF16."""
    ssm = {"float32": 4, "bfloat16": 2, "float16": 2}[c.get("mamba_ssm_dtype", "float32")]
    return {"layers": c["layer_types"].count("linear_attention"), "key_heads": c["linear_num_key_heads"],
            "value_heads": c["linear_num_value_heads"], "key_head_dim": c["linear_key_head_dim"],
            "value_head_dim": c["linear_value_head_dim"], "conv_kernel": c["linear_conv_kernel_dim"],
            "state_bytes_per_value": ssm, "conv_bytes_per_value": 2,
            "source": [f"shared/reference/model_configs/{file} (layer_types, linear_* sizes, mamba_ssm_dtype)",
                       "sglang 0.5.9 wheel (pypi): srt/configs/qwen3_next.py mamba2_cache_params, srt/configs/mamba_utils.py "
                       "(Mamba2StateShape: conv (conv_dim, kernel - 1), temporal (value heads, value dim, key dim); "
                       "mamba2_state_dtype: conv BF16, temporal FP32 by default)"]}


# models of the calibration data that reference/models.yaml lacks, built from their config.json
CONFIG_MODELS = {
    "minimax-m2.5": {
        "file": "MiniMaxAI--MiniMax-M2.5_config.json", "name": "MiniMax-M2.5", "hf_repo": "MiniMaxAI/MiniMax-M2.5",
        "notes": "All 62 layers MoE (256 experts, top-8 sigmoid routing with a correction bias, no shared expert; "
                 "intermediate_size is the expert width). QK RMSNorm over the whole projection. Checkpoint FP8 e4m3 with "
                 "128x128 block scales; gate and lm_head not quantised. 3 MTP modules in the checkpoint, excluded from the "
                 "counts. Parameter counts computed from config.json by tools/build_catalog.py (gqa_moe_params), not "
                 "taken from a model card.",
    },
    "kimi-k2.5": {
        "file": "moonshotai--Kimi-K2.5_config.json", "name": "Kimi K2.5 (1T, native INT4 experts)", "hf_repo": "moonshotai/Kimi-K2.5",
        "notes": "Kimi-K2's text architecture (model_type kimi_k2: DeepSeek-V3-style MLA, 64 heads, 61 layers of which 1 "
                 "dense, 384 routed experts top-8 + 1 shared) with a MoonViT vision tower (27 layers, width 1152; its "
                 "~0.4B weights are not counted, as the schema counts the decoder) and 256K context (YaRN factor 64 from "
                 "4096). Routed experts ship INT4 (compressed-tensors, group 32, BF16 scales); attention, shared "
                 "experts, the dense layer and lm_head BF16. Parameter counts computed from config.json by "
                 "tools/build_catalog.py (mla_moe_params).",
    },
    "qwen3.5-397b-a17b": {
        "file": "Qwen--Qwen3.5-397B-A17B_config.json", "name": "Qwen3.5-397B-A17B", "hf_repo": "Qwen/Qwen3.5-397B-A17B",
        "notes": "model_type qwen3_5_moe: a hybrid of 45 Gated DeltaNet (linear attention) layers and 15 gated full-attention "
                 "layers (GQA, 32 query / 2 KV heads of 256, every 4th layer), all MoE (512 experts top-10 of width 1024 + "
                 "one shared expert). The linear layers keep a per-sequence state (FP32 recurrent, config mamba_ssm_dtype) "
                 "instead of a KV cache. Partial RoPE (25%), multimodal RoPE; a 27-layer vision tower (width 1152) and "
                 "1 MTP layer in the checkpoint, neither counted. Parameter counts computed from config.json by "
                 "tools/build_catalog.py (hybrid_moe_params): 396.3 B / 17.3 B against the name's 397B-A17B.",
    },
    "glm-5": {
        "file": "zai-org--GLM-5_config.json", "name": "GLM-5 (744B)", "hf_repo": "zai-org/GLM-5",
        "aliases": ["zhipuai/GLM-5"],  # the name in the aiconfigurator calibration data
        "notes": "model_type glm_moe_dsa: DeepSeek-V3.2-style MLA (q_lora_rank 2048, kv_lora_rank 512, qk_nope 192, "
                 "qk_rope 64, v_head_dim 256, 64 heads) with DeepSeek Sparse Attention (an indexer of 32 heads x 128 "
                 "picks the top 2,048 tokens per query); 78 layers of which 3 dense, 256 routed experts top-8 + 1 shared. "
                 "1 MTP layer in the checkpoint, excluded from the counts. SGLang replicates the indexer weights on every "
                 "TP rank (ReplicatedLinear), counted once here. Parameter counts computed from config.json by "
                 "tools/build_catalog.py (mla_moe_params).",
    },
}


def build_config_models(ref: Path) -> list[dict]:
    out = []
    for mid, meta in CONFIG_MODELS.items():
        raw = json.loads((ref / "model_configs" / meta["file"]).read_text())
        c = raw.get("text_config", raw)  # multimodal configs nest the decoder's
        layers = c["num_hidden_layers"]
        if "kv_lora_rank" in c:  # DeepSeek-V3-style MLA + MoE
            total, active, emb = mla_moe_params(c)
            kvh, hd = c["num_attention_heads"], c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
            arch = {"family": "mla", "intermediate_size": c["intermediate_size"], "attention_type": "MLA",
                    "mla": {"kv_lora_rank": c["kv_lora_rank"], "qk_rope_head_dim": c["qk_rope_head_dim"],
                            "qk_nope_head_dim": c["qk_nope_head_dim"], "v_head_dim": c["v_head_dim"]},
                    "moe": {"experts": c["n_routed_experts"], "experts_per_token": c["num_experts_per_tok"],
                            "shared_experts": c.get("n_shared_experts") or 0, "moe_layers": layers - c["first_k_dense_replace"],
                            "expert_intermediate_size": c["moe_intermediate_size"]},
                    "sparse_attention": (dsa := sparse_attention(meta["file"], c)),
                    "kv_bytes_per_token_bf16": layers * ((c["kv_lora_rank"] + c["qk_rope_head_dim"]) * 2
                                                         + (dsa or {}).get("indexer_cache_bytes_per_token", 0))}
        elif "layer_types" in c and "linear_attention" in c["layer_types"]:  # Qwen3-Next / Qwen3.5 hybrid
            total, active, emb = hybrid_moe_params(c)
            kvh, hd = c["num_key_value_heads"], c["head_dim"]
            full = c["layer_types"].count("full_attention")
            arch = {"family": "hybrid", "intermediate_size": c["moe_intermediate_size"], "attention_type": "GQA", "mla": None,
                    "linear_attention": linear_attention(meta["file"], c),
                    "moe": {"experts": c["num_experts"], "experts_per_token": c["num_experts_per_tok"], "shared_experts": 1,
                            "moe_layers": layers, "expert_intermediate_size": c["moe_intermediate_size"]},
                    "kv_bytes_per_token_bf16": 2 * full * kvh * hd * 2}
        else:
            total, active, emb = gqa_moe_params(c)
            kvh, hd = c["num_key_value_heads"], c["head_dim"]
            arch = {"family": "moe", "intermediate_size": c["intermediate_size"], "attention_type": "GQA", "mla": None,
                    "moe": {"experts": c["num_local_experts"], "experts_per_token": c["num_experts_per_tok"], "shared_experts": 0,
                            "moe_layers": layers, "expert_intermediate_size": c["intermediate_size"]},
                    "kv_bytes_per_token_bf16": 2 * layers * kvh * hd * 2}
        q = c.get("quantization_config") or {}
        ck = int4_group_checkpoint(meta["file"], c) if q.get("quant_method") == "compressed-tensors" else None
        out.append({
            "id": mid, "name": meta["name"], "hf_repo": meta["hf_repo"], "aliases": meta.get("aliases", []), "family": arch["family"],
            "params_total": total, "params_nominal_b": round(total / 1e9, 1), "params_active": active,
            "embedding_params": emb, "tie_word_embeddings": bool(raw.get("tie_word_embeddings", c.get("tie_word_embeddings"))),
            "layers": layers, "hidden_size": c["hidden_size"], "intermediate_size": arch["intermediate_size"],
            "attention_heads": c["num_attention_heads"], "kv_heads": kvh, "head_dim": hd, "vocab_size": c["vocab_size"],
            "native_context": c["max_position_embeddings"], "attention_type": arch["attention_type"], "mla": arch["mla"],
            "sliding_window": None, **({"sparse_attention": arch["sparse_attention"]} if arch.get("sparse_attention") else {}),
            **({"linear_attention": arch["linear_attention"]} if arch.get("linear_attention") else {}),
            "moe": arch["moe"], **({"checkpoint": ck} if ck else {}),
            "kv_bytes_per_token_bf16": arch["kv_bytes_per_token_bf16"],
            "source": [f"shared/reference/model_configs/{meta['file']} (Hugging Face config.json, copied from "
                       "github.com/ai-dynamo/aiconfigurator model_configs, Apache-2.0)"],
            "notes": meta["notes"],
            "unverified": ["params_total", "params_active"],
        })
    return out
