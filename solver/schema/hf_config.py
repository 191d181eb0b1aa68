"""A model from its Hugging Face config.json: architecture, parameter counts and the checkpoint's
quantisation, as a catalog entry (LlmModel).

The catalog's config-born models (tools/catalog_sources/model_configs.py) and `--model path/to/config.json`
(or a folder holding one, or a Hugging Face repo outside the catalog: solver.schema.resolve) use the
same code.  Counts follow reference/models.yaml's convention: embeddings, the LM head when untied, every
layer and its norms; MTP modules and vision towers excluded.  Supported decoders: dense GQA/MHA
(Llama, Mistral, Qwen2/3, Gemma-like), GQA mixture-of-experts (Mixtral, Qwen3-MoE, MiniMax), DeepSeek-
style MLA (with DSA), and Qwen3-Next/3.5 hybrids; anything else is refused with what is missing.
"""

from __future__ import annotations

from typing import Any

from solver.errors import ScenarioError
from solver.schema.llm import LlmModel
from solver.schema.precision import Precision


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
            "source": [f"{file} (quantization_config: compressed-tensors pack-quantized, "
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
            "source": [f"{file} (index_topk, index_n_heads, index_head_dim)", SGLANG_NSA_SRC]}


def linear_attention(file: str, c: dict) -> dict:
    """A Gated DeltaNet hybrid's per-sequence state: FP32 recurrent state unless config mamba_ssm_dtype says
    otherwise (sglang 0.5.9 configs/mamba_utils.py mamba2_state_dtype: default float32), conv state in BF16."""
    ssm = {"float32": 4, "bfloat16": 2, "float16": 2}[c.get("mamba_ssm_dtype", "float32")]
    return {"layers": c["layer_types"].count("linear_attention"), "key_heads": c["linear_num_key_heads"],
            "value_heads": c["linear_num_value_heads"], "key_head_dim": c["linear_key_head_dim"],
            "value_head_dim": c["linear_value_head_dim"], "conv_kernel": c["linear_conv_kernel_dim"],
            "state_bytes_per_value": ssm, "conv_bytes_per_value": 2,
            "source": [f"{file} (layer_types, linear_* sizes, mamba_ssm_dtype)",
                       "sglang 0.5.9 wheel (pypi): srt/configs/qwen3_next.py mamba2_cache_params, srt/configs/mamba_utils.py "
                       "(Mamba2StateShape: conv (conv_dim, kernel - 1), temporal (value heads, value dim, key dim); "
                       "mamba2_state_dtype: conv BF16, temporal FP32 by default)"]}


def dense_params(c: dict) -> tuple[int, int, int]:
    """(total, active per token, embedding) parameters of a dense decoder: q/k/v/o projections (with
    the q/k/v biases of Qwen2-style `attention_bias`), Qwen3's per-head q/k norms, a gated MLP (gate,
    up, down) and two norms per layer, the final norm, the embedding and an untied LM head.  Reproduces
    reference/models.yaml's Llama-3.1-8B and Qwen3-8B counts exactly (tests/schema/test_hf_config.py)."""
    h, layers, heads = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"]
    kvh = c.get("num_key_value_heads") or heads
    hd = c.get("head_dim") or h // heads
    attn = h * heads * hd + 2 * h * kvh * hd + heads * hd * h + ((heads + 2 * kvh) * hd if c.get("attention_bias") else 0)
    mlp = 3 * h * c["intermediate_size"]
    qk_norm = 2 * hd if c.get("use_qk_norm", str(c.get("model_type", "")).startswith("qwen3")) else 0  # Qwen3: per-head q/k norms
    emb = c["vocab_size"] * h
    total = layers * (attn + mlp + qk_norm + 2 * h) + h + emb * (1 if c.get("tie_word_embeddings") else 2)
    return total, total, emb


QUANT_PRECISION = {"fp8": "fp8", "fbgemm_fp8": "fp8", "mxfp4": "fp4", "nvfp4": "fp4", "modelopt": "fp8"}


def checkpoint_precision(c: dict) -> str | None:
    """The weight format a config's quantization_config states (None: 16-bit as saved)."""
    q = c.get("quantization_config") or {}
    method = str(q.get("quant_method", "")).lower()
    if method in ("awq", "gptq", "bitsandbytes", "compressed-tensors"):
        bits = q.get("bits") or q.get("w_bit")
        if q.get("load_in_4bit"):
            bits = 4
        if method == "compressed-tensors":
            groups = q.get("config_groups") or {}
            w = next(iter(groups.values()), {}).get("weights", {}) if groups else {}
            bits = w.get("num_bits")
            if w.get("type") == "float" and bits == 8:
                return "fp8"
        return {4: "int4", 8: "int8"}.get(bits)
    return QUANT_PRECISION.get(method)


def entry_from_config(raw: dict, model_id: str, name: str, hf_repo: str | None, where: str, source: str) -> dict[str, Any]:
    """The catalog entry (LlmModel fields) of the decoder a config.json describes (`where`: the file, as
    the entry's layer sources name it; `source`: the entry's source); KeyError names a missing key,
    ValueError an architecture not supported."""
    c = raw.get("text_config", raw)  # multimodal configs nest the decoder's
    layers = c["num_hidden_layers"]
    experts = c.get("num_local_experts") or c.get("num_experts") or c.get("n_routed_experts")
    if "kv_lora_rank" in c:  # DeepSeek-V3-style MLA + MoE
        total, active, emb = mla_moe_params(c)
        kvh, hd = c["num_attention_heads"], c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
        dsa = sparse_attention(where, c)
        arch = {"family": "mla", "intermediate_size": c["intermediate_size"], "attention_type": "MLA",
                "mla": {"kv_lora_rank": c["kv_lora_rank"], "qk_rope_head_dim": c["qk_rope_head_dim"],
                        "qk_nope_head_dim": c["qk_nope_head_dim"], "v_head_dim": c["v_head_dim"]},
                "moe": {"experts": c["n_routed_experts"], "experts_per_token": c["num_experts_per_tok"],
                        "shared_experts": c.get("n_shared_experts") or 0, "moe_layers": layers - c["first_k_dense_replace"],
                        "expert_intermediate_size": c["moe_intermediate_size"]},
                "sparse_attention": dsa,
                "kv_bytes_per_token_bf16": layers * ((c["kv_lora_rank"] + c["qk_rope_head_dim"]) * 2
                                                     + (dsa or {}).get("indexer_cache_bytes_per_token", 0))}
    elif "layer_types" in c and "linear_attention" in c["layer_types"]:  # Qwen3-Next / Qwen3.5 hybrid
        total, active, emb = hybrid_moe_params(c)
        kvh, hd = c["num_key_value_heads"], c["head_dim"]
        full = c["layer_types"].count("full_attention")
        arch = {"family": "hybrid", "intermediate_size": c["moe_intermediate_size"], "attention_type": "GQA", "mla": None,
                "linear_attention": linear_attention(where, c),
                "moe": {"experts": c["num_experts"], "experts_per_token": c["num_experts_per_tok"], "shared_experts": 1,
                        "moe_layers": layers, "expert_intermediate_size": c["moe_intermediate_size"]},
                "kv_bytes_per_token_bf16": 2 * full * kvh * hd * 2}
    elif experts:  # GQA mixture of experts: the expert width is intermediate_size (Mixtral) or moe_intermediate_size
        width = c.get("moe_intermediate_size") or c["intermediate_size"]
        total, active, emb = gqa_moe_params({**c, "num_local_experts": experts, "intermediate_size": width,
                                             "head_dim": c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"],
                                             "num_key_value_heads": c.get("num_key_value_heads") or c["num_attention_heads"]})
        kvh = c.get("num_key_value_heads") or c["num_attention_heads"]
        hd = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        arch = {"family": "moe", "intermediate_size": width, "attention_type": "GQA" if kvh < c["num_attention_heads"] else "MHA",
                "mla": None,
                "moe": {"experts": experts, "experts_per_token": c["num_experts_per_tok"], "shared_experts": 0,
                        "moe_layers": layers, "expert_intermediate_size": width},
                "kv_bytes_per_token_bf16": 2 * layers * kvh * hd * 2}
    elif "intermediate_size" in c and "layer_types" not in c:
        total, active, emb = dense_params(c)
        kvh = c.get("num_key_value_heads") or c["num_attention_heads"]
        hd = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        arch = {"family": "dense", "intermediate_size": c["intermediate_size"], "mla": None, "moe": None,
                "attention_type": "MQA" if kvh == 1 else "GQA" if kvh < c["num_attention_heads"] else "MHA",
                "kv_bytes_per_token_bf16": 2 * layers * kvh * hd * 2}
    else:
        raise ValueError(f"architecture {c.get('model_type') or raw.get('architectures')} not supported from a config "
                         "(dense, GQA MoE, MLA and Qwen3.5-style hybrids are)")
    q = c.get("quantization_config") or raw.get("quantization_config") or {}
    ck = int4_group_checkpoint(where, c) if q.get("quant_method") == "compressed-tensors" and arch["moe"] and \
        (q.get("config_groups") or {}).get("group_0", {}).get("weights", {}).get("type") == "int" else None
    return {
        "id": model_id, "name": name, "hf_repo": hf_repo, "aliases": [], "family": arch["family"],
        "params_total": total, "params_nominal_b": round(total / 1e9, 1), "params_active": active,
        "embedding_params": emb, "tie_word_embeddings": bool(raw.get("tie_word_embeddings", c.get("tie_word_embeddings"))),
        "layers": layers, "hidden_size": c["hidden_size"], "intermediate_size": arch["intermediate_size"],
        "attention_heads": c["num_attention_heads"], "kv_heads": kvh, "head_dim": hd, "vocab_size": c["vocab_size"],
        "native_context": c["max_position_embeddings"], "attention_type": arch["attention_type"], "mla": arch["mla"],
        "sliding_window": None, **({"sparse_attention": arch["sparse_attention"]} if arch.get("sparse_attention") else {}),
        **({"linear_attention": arch["linear_attention"]} if arch.get("linear_attention") else {}),
        "moe": arch["moe"], **({"checkpoint": ck} if ck else {}),
        "kv_bytes_per_token_bf16": arch["kv_bytes_per_token_bf16"],
        "source": [source], "notes": "read from its config.json; parameter counts computed, not taken from a model card",
        "unverified": ["params_total", "params_active"],
    }


def model_from_config(raw: dict, where: str, hf_repo: str | None = None) -> tuple[LlmModel, str | None]:
    """(the model a config.json describes, the precision its quantization_config states); a config
    that does not describe a supported decoder is a ScenarioError naming what is missing."""
    from pydantic import ValidationError

    name = hf_repo or raw.get("_name_or_path") or where
    model_id = (hf_repo or str(name)).split("/")[-1].lower()
    try:
        entry = entry_from_config(raw, model_id, str(name), hf_repo, where, f"{where} (Hugging Face config.json)")
        model = LlmModel.model_validate(entry)
    except KeyError as e:
        raise ScenarioError(f"{where}: config.json lacks {e.args[0]!r}: not a decoder gpuplan can read "
                            "(give --params-b instead)") from None
    except (ValueError, ValidationError, TypeError) as e:
        raise ScenarioError(f"{where}: {e}".split("\n")[0] + " (give --params-b instead)") from None
    c = raw.get("text_config", raw)
    precision = checkpoint_precision({**c, "quantization_config": c.get("quantization_config") or raw.get("quantization_config")})
    if precision:
        model = model.model_copy(update={"published_precision": Precision(precision)})
    return model, precision
