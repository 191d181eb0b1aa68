"""Regenerate catalog/gpus.yaml, catalog/models.yaml and catalog/servers.yaml from ../shared/reference.

The catalog is the project's own data; this script records how it was transcribed from the research
notes so that a reviewer can re-run it and diff.  `# unverified` comments of the reference are
carried into each entry's `unverified` list.  Engines (catalog/engines.yaml) are curated by hand.

Usage: python tools/build_catalog.py [--reference ../shared/reference]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# id -> (compat_key, compute capability / gfx id); classes from reference/engines.yaml hardware_keys
GPU_CLASS = {
    "v100-pcie-16gb": ("nvidia_volta", "7.0"),
    "v100-pcie-32gb": ("nvidia_volta", "7.0"),
    "v100-sxm2-16gb": ("nvidia_volta", "7.0"),
    "v100-sxm2-32gb": ("nvidia_volta", "7.0"),
    "v100s-pcie-32gb": ("nvidia_volta", "7.0"),
    "t4-16gb": ("nvidia_turing", "7.5"),
    "a10-24gb": ("nvidia_ampere", "8.6"),
    "a10g-24gb": ("nvidia_ampere", "8.6"),
    "a16-64gb": ("nvidia_ampere", "8.6"),
    "a30-24gb": ("nvidia_ampere", "8.0"),
    "a40-48gb": ("nvidia_ampere", "8.6"),
    "a100-pcie-40gb": ("nvidia_ampere", "8.0"),
    "a100-sxm4-40gb": ("nvidia_ampere", "8.0"),
    "a100-pcie-80gb": ("nvidia_ampere", "8.0"),
    "a100-sxm4-80gb": ("nvidia_ampere", "8.0"),
    "l4-24gb": ("nvidia_ada", "8.9"),
    "l40-48gb": ("nvidia_ada", "8.9"),
    "l40s-48gb": ("nvidia_ada", "8.9"),
    "rtx-6000-ada-48gb": ("nvidia_ada", "8.9"),
    "rtx-pro-6000-blackwell-server-96gb": ("nvidia_blackwell_rtx", "12.0"),
    "h100-pcie-80gb": ("nvidia_hopper", "9.0"),
    "h100-sxm-80gb": ("nvidia_hopper", "9.0"),
    "h100-nvl-94gb": ("nvidia_hopper", "9.0"),
    "h200-sxm-141gb": ("nvidia_hopper", "9.0"),
    "h200-nvl-141gb": ("nvidia_hopper", "9.0"),
    "gh200-96gb": ("nvidia_hopper", "9.0"),
    "gh200-144gb": ("nvidia_hopper", "9.0"),
    "b200-sxm-180gb": ("nvidia_blackwell_dc", "10.0"),
    "b300-sxm-288gb": ("nvidia_blackwell_dc", "10.3"),
    "gb200-186gb": ("nvidia_blackwell_dc", "10.0"),
    "mi210-64gb": ("amd_mi200", "gfx90a"),
    "mi250x-128gb": ("amd_mi200", "gfx90a"),
    "mi300x-192gb": ("amd_mi300", "gfx942"),
    "mi325x-256gb": ("amd_mi300", "gfx942"),
    "mi355x-288gb": ("amd_mi350", "gfx950"),
    "gaudi2-96gb": ("intel_gaudi", None),
    "gaudi3-128gb-oam": ("intel_gaudi", None),
    "gaudi3-128gb-pcie": ("intel_gaudi", None),
}
HW_SOURCE = "shared/reference/hardware.yaml"
ENG_SOURCE = "shared/reference/engines.yaml (hardware_keys: compute capability / gfx id per class)"

UNVERIFIED_KEYS = {
    "tflops_dense": "dense_tflops",
    "memory_bw_tbs": "memory_bandwidth_tbs",
    "tdp_w": "tdp_w",
    "interconnect": "scale_up_link",
    "memory_gb": "memory_gb_labelled",
}


def unverified_fields(raw_text: str) -> dict[str, list[str]]:
    """Map entry id -> catalog fields whose reference line carries '# unverified'."""
    out: dict[str, list[str]] = {}
    current = None
    for line in raw_text.splitlines():
        m = re.match(r"^- id: (\S+)", line)
        if m:
            current = m.group(1)
            continue
        if current and "# unverified" in line:
            key = line.strip().split(":")[0]
            if key in UNVERIFIED_KEYS:
                out.setdefault(current, []).append(UNVERIFIED_KEYS[key])
            elif key == "notes" and "TFLOPS" in line:
                out.setdefault(current, []).extend(["dense_tflops", "memory_bandwidth_tbs"])
            elif key == "notes":
                out.setdefault(current, []).append("dense_tflops")
    return {k: sorted(set(v)) for k, v in out.items()}


def native_precisions(tc: list[str]) -> list[str]:
    out = {"fp32"}
    for p in tc:
        if p.startswith("fp8") or p == "mxfp8":
            out.add("fp8")
        elif p in ("fp4", "nvfp4", "mxfp4"):
            out.add("fp4")
        elif p in ("fp16", "bf16", "tf32", "int8", "int4", "fp64", "fp32"):
            out.add(p)
        elif p in ("fp6", "mxfp6"):
            out.add("fp6")
    order = ["fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "fp6", "int8", "int4", "fp4"]
    return [p for p in order if p in out]


def build_gpus(ref: Path) -> list[dict]:
    text = (ref / "hardware.yaml").read_text()
    data = yaml.safe_load(text)
    unv = unverified_fields(text.split("\nplatforms:")[0])
    ids = [g["id"] for g in data["gpus"]]
    stripped = {i: re.sub(r"-\d+gb", "", i) for i in ids}
    first = {i: i.split("-")[0] for i in ids}
    gpus = []
    for g in data["gpus"]:
        gid = g["id"]
        compat, cc = GPU_CLASS[gid]
        aliases = []
        if stripped[gid] != gid and list(stripped.values()).count(stripped[gid]) == 1:
            aliases.append(stripped[gid])
        if first[gid] not in aliases and first[gid] != gid and list(first.values()).count(first[gid]) == 1:
            aliases.append(first[gid])
        ic = g["interconnect"]
        vendor = g["vendor"].split()[0].lower()
        mem = float(g["memory_gb"])
        usable = mem
        unverified = list(unv.get(gid, []))
        notes = g.get("notes")
        if gid == "b300-sxm-288gb":
            usable = 2100 / 8  # HGX B300 page: 2.1 TB usable per 8 GPUs
            notes = "Usable memory from the HGX B300 page (2.1 TB per 8 GPUs); 288 GB physical."
        tflops = {k: v for k, v in g["tflops_dense"].items() if k in ("fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4", "fp6", "fp4")}
        gpus.append(
            {
                "id": gid,
                "name": g["name"],
                "aliases": aliases,
                "vendor": vendor,
                "architecture": g["architecture"],
                "compat_key": compat,
                "compute_capability": cc,
                "memory_gb_labelled": mem,
                "memory_gib_usable": usable,
                "memory_bandwidth_tbs": float(g["memory_bw_tbs"]),
                "dense_tflops": tflops,
                "native_precisions": native_precisions(g["tensor_core_precisions"]),
                "form_factor": g["form_factor"],
                "tdp_w": float(g["tdp_w"]),
                "scale_up_link": {
                    "type": ic["type"],
                    "bandwidth_gbs_bidir": None if ic.get("bw_gbs_bidir") is None else float(ic["bw_gbs_bidir"]),
                    "max_gpus": ic.get("max_gpus"),
                },
                "pcie_gen": g.get("pcie_gen"),
                "release_year": int(g["release_year"]),
                "source": [HW_SOURCE, ENG_SOURCE, *g["sources"]],
                "unverified": unverified,
                **({"notes": notes} if notes else {}),
            }
        )
    return gpus


# ----------------------------------------------------------------------------------------------- models
def repo_names(hf: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"[A-Za-z0-9][\w.-]*/[\w.-]*[\w]", hf)))


def nominal_b(m: dict) -> float:
    """The parameter count in the model's name (the guide's 'Llama 3 70B' -> 70), else the computed one."""
    found = re.search(r"(\d+(?:\.\d+)?)B\b", m["name"]) or re.search(r"-(\d+(?:\.\d+)?)b\b", m["id"])
    total_b = m["computed_total_params"] / 1e9
    if found and abs(float(found.group(1)) - total_b) <= 0.15 * total_b:
        return float(found.group(1))
    return round(total_b, 1)


def checkpoint(m: dict) -> dict | None:
    """The published checkpoint's own layout where it quantises only the experts (gpt-oss: 'native MXFP4
    MoE + BF16 rest'); MXFP4 stores one E8M0 scale byte per 32 values (reference/hardware.yaml, fp4_formats)."""
    for v in m.get("quantized_variants") or []:
        if str(v.get("fmt", "")).startswith("native MXFP4 MoE + BF16 rest"):
            return {"precision": "fp4", "modules": "experts", "scale_bytes_per_param": 1 / 32,
                    "source": [f"shared/reference/models.yaml ({m['id']}.quantized_variants: {v['fmt']})",
                               "shared/reference/hardware.yaml (fp4_formats: OCP MXFP4, 32-element blocks, E8M0 scale)"]}
    return None


def build_models(ref: Path) -> list[dict]:
    data = yaml.safe_load((ref / "models.yaml").read_text())["models"]
    out = []
    for m in data:
        att = m["attention"]
        repos = repo_names(m.get("hf_repo") or "")
        hd = m["head_dim"]
        mla = None
        if att["type"] == "MLA":
            mla = {
                "kv_lora_rank": att["kv_lora_rank"],
                "qk_rope_head_dim": att["qk_rope_head_dim"],
                "qk_nope_head_dim": hd["qk_nope_head_dim"],
                "v_head_dim": hd["v_head_dim"],
            }
            head_dim = hd["qk_nope_head_dim"] + hd["qk_rope_head_dim"]
        else:
            head_dim = int(hd)
        sw = None
        if att.get("local_layers"):
            sw = {"local_layers": att["local_layers"], "window_tokens": att["window_tokens"]}
        moe = None
        if m.get("moe"):
            moe = {
                "experts": m["moe"]["num_experts"],
                "experts_per_token": m["moe"]["experts_per_token"],
                "shared_experts": m["moe"].get("shared_experts") or 0,
                "moe_layers": m["moe"]["moe_layers"],
                "expert_intermediate_size": m["moe_intermediate_size"],
            }
        kvh = m["num_key_value_heads"]
        atype = att["type"]
        if atype == "GQA" and kvh == 1:
            atype = "MQA"
        out.append(
            {
                "id": m["id"],
                "name": m["name"],
                "hf_repo": repos[0] if repos else None,
                "aliases": repos[1:],
                "family": m["architecture_family"],
                "params_total": int(m["computed_total_params"]),
                "params_nominal_b": nominal_b(m),
                "params_active": int(m["computed_active_params_per_token"]),
                "embedding_params": int(m["computed_embedding_params"]),
                "tie_word_embeddings": bool(m["tie_word_embeddings"]),
                "layers": m["num_hidden_layers"],
                "hidden_size": m["hidden_size"],
                "intermediate_size": m["intermediate_size"],
                "attention_heads": m["num_attention_heads"],
                "kv_heads": kvh,
                "head_dim": head_dim,
                "vocab_size": m["vocab_size"],
                "native_context": m["native_context"],
                "attention_type": atype,
                "mla": mla,
                "sliding_window": sw,
                "moe": moe,
                **({"checkpoint": ck} if (ck := checkpoint(m)) else {}),
                "kv_bytes_per_token_bf16": int(m["kv_cache"]["kv_bytes_per_token_bf16"]),
                "source": ["shared/reference/models.yaml", *m["sources"]],
                **({"notes": m["notes"]} if m.get("notes") else {}),
            }
        )
    return out


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


# ---------------------------------------------------------------------------------------------- servers
PCIE_GBS = {3: 16.0, 4: 32.0, 5: 64.0, 6: 128.0}  # x16 per direction, reference pcie-server-generic
LAT = {"pcie": 10.0, "nvlink_bridge": 4.0, "nvswitch": 4.0, "nvlink_mesh": 4.0, "infinity_fabric": 6.0, "roce_mesh": 8.0, "none": 0.0}
NET_LAT = {"infiniband": 5.0, "roce": 8.0, "ethernet": 15.0}
PLATFORM_SRC = "shared/reference/hardware.yaml (platforms)"
PCIE_SRC = "shared/reference/hardware.yaml (platforms: pcie-server-generic)"
PRICE_SRC = "shared/reference/hardware.yaml (prices)"
OVH_SRC = "shared/reference/seed_and_ovhcloud.yaml"


def ic(kind: str, per_gpu_gbs: float, domain: int) -> dict:
    return {"kind": kind, "per_gpu_gbs": per_gpu_gbs, "fast_domain_gpus": domain, "latency_us": LAT[kind]}


def net(kind: str, gbps: float) -> dict:
    return {"kind": kind, "gbps_per_gpu": gbps, "latency_us": NET_LAT[kind]}


def pcie_interconnect(g: dict, n: int) -> dict:
    if n == 1:
        return ic("none", 0.0, 1)
    link = g["scale_up_link"]
    bw = PCIE_GBS[g["pcie_gen"] or 4]
    if link["type"] in ("NVLink bridge", "Infinity Fabric Link (bridge)") and link["bandwidth_gbs_bidir"]:
        dom = min(n, link["max_gpus"] or 2)
        kind = "nvlink_bridge" if "NVLink" in link["type"] else "infinity_fabric"
        # bridged groups; TP beyond a group falls back to PCIe (handled by the performance model)
        return ic(kind, link["bandwidth_gbs_bidir"] / 2, dom)
    return ic("pcie", bw, n)


def build_servers(gpus: list[dict]) -> list[dict]:
    G = {g["id"]: g for g in gpus}
    servers: list[dict] = []

    def add(sid, name, provider, gpu, n, inter, network=None, price=None, source=(), unverified=(), notes=None, power_kw=None):
        s = {
            "id": sid,
            "name": name,
            "provider": provider,
            "gpu": gpu,
            "gpu_count": n,
            "interconnect": inter,
            "network": network,
            "price": price,
            "purchase": None,
            "power_kw": power_kw,
            "stock": None,
            "source": list(source),
            "unverified": sorted(set(unverified)),
        }
        if notes:
            s["notes"] = notes
        servers.append(s)

    def price(amount, cur, observed, src):
        return {"amount_per_hour": round(float(amount), 4), "currency": cur, "observed": observed, "source": src}

    # -- OVHcloud Public Cloud, EUR (the default price list) -----------------------------------------
    ovh_gpu = {"L4": "l4-24gb", "L40S": "l40s-48gb", "A10": "a10-24gb", "A100": "a100-sxm4-80gb", "H100": "h100-sxm-80gb", "H200": "h200-sxm-141gb"}
    ovh_note = "OVHcloud does not document the GPU interconnect of multi-GPU instances; PCIe assumed (conservative)."
    ref = yaml.safe_load((Path(ARGS.reference) / "seed_and_ovhcloud.yaml").read_text())
    eur = ref["ovh_public_cloud_gpu_eur"]
    for flavour, f in eur.items():
        if not isinstance(f, dict) or "gpu" not in f:
            continue
        gid = ovh_gpu[f["gpu"]]
        n = f["gpus"]
        unv = ["gpu"] if f["gpu"] in ("A100", "H100") else []
        if n == 8 and f["gpu"] == "H200":
            inter, note = ic("nvswitch", G[gid]["scale_up_link"]["bandwidth_gbs_bidir"] / 2, 8), "8x H200 SXM instance; H200 SXM ships on HGX 8-GPU NVSwitch boards (platform hgx-h100-8gpu)."
            unv.append("interconnect")
        elif n > 1:
            inter, note = ic("pcie", PCIE_GBS[4], n), ovh_note
            unv.append("interconnect")
        else:
            inter, note = ic("none", 0.0, 1), None
        if f["gpu"] in ("A100", "H100"):
            note = ((note + " ") if note else "") + "GPU model (SXM) as filed by the reference price list."
        add(
            f"ovh-{flavour}",
            f"OVHcloud {flavour} ({n}x {f['gpu']}, {f['vcpu'] or '?'} vCPU, {f['ram_gb']} GB RAM)",
            "ovhcloud",
            gid,
            n,
            inter,
            None,
            price(f["eur_per_hour"], "EUR", "2025-01-27 catalog" if flavour != "h200-1920" else "2026", OVH_SRC + " (ovh_public_cloud_gpu_eur)"),
            [OVH_SRC],
            unv,
            note,
        )
    # flavours with no EUR price in the sources: listed so that an overlay can price them
    for fam, gid, sizes in (("t1", "v100-sxm2-16gb", (1, 2, 4)), ("t2", "v100s-pcie-32gb", (1, 2, 4))):
        for n in sizes:
            flavour = f"{fam}-{45 * n}"
            add(
                f"ovh-{flavour}",
                f"OVHcloud {flavour} ({n}x {'V100 16GB' if fam == 't1' else 'V100S 32GB'})",
                "ovhcloud",
                gid,
                n,
                ic("pcie", PCIE_GBS[3], n) if n > 1 else ic("none", 0.0, 1),
                None,
                None,
                [OVH_SRC + " (other_flavor_families_no_price)"],
                ["interconnect"] if n > 1 else [],
                "No EUR price in the sources: cost is unknown until an overlay gives one.",
            )
    add("ovh-a10-180", "OVHcloud a10-180 (4x A10)", "ovhcloud", "a10-24gb", 4, ic("pcie", PCIE_GBS[4], 4), None, None,
        [OVH_SRC + " (other_flavor_families_no_price)"], ["interconnect"], "No price in the sources.")

    # -- OVHcloud USD list ----------------------------------------------------------------------------
    usd = ref["ovh_public_cloud_gpu_usd"]
    for flavour, p in usd.items():
        if flavour.startswith("ai-training"):
            continue
        base = next((s for s in servers if s["id"] == f"ovh-{flavour}"), None)
        if base is None:
            continue
        s = dict(base)
        s["id"] = f"ovh-us-{flavour}"
        s["name"] = base["name"].replace("OVHcloud", "OVHcloud (USD list)")
        s["price"] = price(p["usd_per_hour"], "USD", p["source"], OVH_SRC + " (ovh_public_cloud_gpu_usd)")
        s["notes"] = (base.get("notes") or "").replace("No EUR price in the sources: cost is unknown until an overlay gives one.", "").strip() or None
        if s["notes"] is None:
            s.pop("notes")
        servers.append(s)
    add("ovh-us-t1-45", "OVHcloud (USD list) t1-45 (1x V100 16GB)", "ovhcloud", "v100-sxm2-16gb", 1, ic("none", 0.0, 1), None,
        price(1.97, "USD", "undated SkyPilot catalog snapshot", "https://github.com/skypilot-org/skypilot-catalog/blob/master/catalogs/v6/ovhcloud/vms.csv"),
        [PRICE_SRC])

    # -- other clouds, USD (reference/hardware.yaml prices) --------------------------------------------
    nvs = lambda g: ic("nvswitch", G[g]["scale_up_link"]["bandwidth_gbs_bidir"] / 2, 8)  # noqa: E731
    clouds = [
        # id, name, provider, gpu, n, interconnect, network, usd/h, observed, source, unverified
        ("aws-p5.48xlarge", "AWS p5.48xlarge (8x H100 SXM)", "aws", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), net("ethernet", 400), 55.04, "2026-09-25 feed", "https://aws.amazon.com/ec2/pricing/on-demand/", []),
        ("aws-p5en.48xlarge", "AWS p5en.48xlarge (8x H200 SXM)", "aws", "h200-sxm-141gb", 8, nvs("h200-sxm-141gb"), net("ethernet", 400), 63.296, "2026-09-25 feed", "https://aws.amazon.com/ec2/pricing/on-demand/", []),
        ("aws-p6-b200.48xlarge", "AWS p6-b200.48xlarge (8x B200)", "aws", "b200-sxm-180gb", 8, nvs("b200-sxm-180gb"), net("ethernet", 400), 113.93, "2026-09-25 feed", "https://aws.amazon.com/ec2/pricing/on-demand/", []),
        ("aws-p4d.24xlarge", "AWS p4d.24xlarge (8x A100 40GB)", "aws", "a100-sxm4-40gb", 8, nvs("a100-sxm4-40gb"), net("ethernet", 50), 32.77, "2024-2025 (before the June-2025 cut)", "https://www.usage.ai/blogs/finops/ai-ml-cost/gpu-instance-cost-optimization/", ["price"]),
        ("aws-g5.xlarge", "AWS g5.xlarge (1x A10G)", "aws", "a10g-24gb", 1, ic("none", 0.0, 1), None, 1.006, "2024-2025", "https://aws.amazon.com/ec2/instance-types/g5/", ["price"]),
        ("aws-g4dn.xlarge", "AWS g4dn.xlarge (1x T4)", "aws", "t4-16gb", 1, ic("none", 0.0, 1), None, 0.526, "2024-2025", "https://aws.amazon.com/ec2/instance-types/g4/", ["price"]),
        ("azure-nd96isr-h100-v5", "Azure ND96isr H100 v5 (8x H100 SXM)", "azure", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), None, 98.32, "2026-10-06", "https://prices.azure.com/api/retail/prices", []),
        ("coreweave-hgx-h100-8", "CoreWeave HGX H100 8-GPU", "coreweave", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), None, 49.24, "2026-02 and 2026-10", "https://www.coreweave.com/pricing", []),
        ("coreweave-hgx-h200-8", "CoreWeave HGX H200 8-GPU", "coreweave", "h200-sxm-141gb", 8, nvs("h200-sxm-141gb"), None, 50.44, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-hgx-b200-8", "CoreWeave HGX B200 8-GPU", "coreweave", "b200-sxm-180gb", 8, nvs("b200-sxm-180gb"), None, 68.80, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-gb200-4", "CoreWeave GB200 NVL72, 4-GPU slice", "coreweave", "gb200-186gb", 4, ic("nvswitch", 900.0, 4), None, 42.00, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-a100-8", "CoreWeave 8x A100 80GB", "coreweave", "a100-sxm4-80gb", 8, nvs("a100-sxm4-80gb"), None, 21.60, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-l40s-8", "CoreWeave 8x L40S", "coreweave", "l40s-48gb", 8, ic("pcie", PCIE_GBS[4], 8), None, 18.00, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-rtx-pro-6000-8", "CoreWeave 8x RTX PRO 6000", "coreweave", "rtx-pro-6000-blackwell-server-96gb", 8, ic("pcie", PCIE_GBS[5], 8), None, 20.00, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-gh200-1", "CoreWeave 1x GH200", "coreweave", "gh200-96gb", 1, ic("none", 0.0, 1), None, 6.50, "2026-02", "https://www.coreweave.com/pricing", []),
        ("lambda-h100-sxm-1", "Lambda 1x H100 SXM", "lambda", "h100-sxm-80gb", 1, ic("none", 0.0, 1), None, 3.78, "2026-04/05", "https://lambda.ai/pricing", []),
        ("lambda-h100-sxm-8", "Lambda 8x H100 SXM", "lambda", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), None, 8 * 2.99, "2025", "https://lambda.ai/pricing", ["price"]),
        ("lambda-h100-pcie-1", "Lambda 1x H100 PCIe", "lambda", "h100-pcie-80gb", 1, ic("none", 0.0, 1), None, 2.49, "2024-2025", "https://lambda.ai/pricing", ["price"]),
        ("lambda-a100-40-1", "Lambda 1x A100 40GB SXM", "lambda", "a100-sxm4-40gb", 1, ic("none", 0.0, 1), None, 1.29, "2025", "https://lambda.ai/pricing", ["price"]),
        ("lambda-a10-1", "Lambda 1x A10", "lambda", "a10-24gb", 1, ic("none", 0.0, 1), None, 0.86, "2026-05-07", "https://lambda.ai/pricing", []),
        ("lambda-b200-8", "Lambda 8x B200", "lambda", "b200-sxm-180gb", 8, nvs("b200-sxm-180gb"), None, 8 * 4.99, "2025", "https://lambda.ai/pricing", ["price"]),
        ("lambda-gh200-1", "Lambda 1x GH200", "lambda", "gh200-96gb", 1, ic("none", 0.0, 1), None, 1.49, "2025", "https://lambda.ai/pricing", ["price"]),
        ("lambda-v100-8", "Lambda 8x V100 16GB", "lambda", "v100-sxm2-16gb", 8, ic("nvlink_mesh", 150.0, 8), None, 6.32, "undated SkyPilot catalog snapshot", "https://github.com/skypilot-org/skypilot-catalog/blob/master/catalogs/v8/lambda/vms.csv", ["interconnect"]),
        ("runpod-h100-sxm-1", "RunPod H100 SXM (Secure Cloud)", "runpod", "h100-sxm-80gb", 1, ic("none", 0.0, 1), None, 2.69, "2025-mid 2026", "https://www.runpod.io/pricing", ["price"]),
        ("runpod-h100-pcie-1", "RunPod H100 PCIe (Secure Cloud)", "runpod", "h100-pcie-80gb", 1, ic("none", 0.0, 1), None, 2.89, "2026-10-06", "https://www.runpod.io/pricing", []),
        ("runpod-h200-1", "RunPod H200 (Secure Cloud)", "runpod", "h200-sxm-141gb", 1, ic("none", 0.0, 1), None, 4.59, "2026-10-06", "https://www.runpod.io/pricing", []),
        ("runpod-b200-1", "RunPod B200 (Secure Cloud)", "runpod", "b200-sxm-180gb", 1, ic("none", 0.0, 1), None, 6.79, "2026-10-06", "https://www.runpod.io/pricing", []),
        ("runpod-rtx-pro-6000-1", "RunPod RTX PRO 6000 Blackwell Server", "runpod", "rtx-pro-6000-blackwell-server-96gb", 1, ic("none", 0.0, 1), None, 1.69, "2026", "https://www.runpod.io/pricing", ["price"]),
        ("gcp-g2-standard-4", "GCP g2-standard-4 (1x L4)", "gcp", "l4-24gb", 1, ic("none", 0.0, 1), None, 0.75, "2026-03", "https://cloud.google.com/compute/gpus-pricing", ["price"]),
        ("modal-l40s-1", "Modal L40S (serverless, GPU only)", "modal", "l40s-48gb", 1, ic("none", 0.0, 1), None, 1.95, "2026-05-07", "https://modal.com/pricing", []),
        ("modal-l4-1", "Modal L4 (serverless)", "modal", "l4-24gb", 1, ic("none", 0.0, 1), None, 0.80, "2026-05-07", "https://modal.com/pricing", []),
        ("modal-t4-1", "Modal T4 (serverless)", "modal", "t4-16gb", 1, ic("none", 0.0, 1), None, 0.59, "2026-05-07", "https://modal.com/pricing", []),
        ("tensorwave-mi300x-1", "TensorWave MI300X", "tensorwave", "mi300x-192gb", 1, ic("none", 0.0, 1), None, 1.71, "undated (2025-2026)", "https://gpu.blog/gpus/instinct-mi300x-mi300x", ["price"]),
        ("vultr-mi300x-1", "Vultr MI300X", "vultr", "mi300x-192gb", 1, ic("none", 0.0, 1), None, 1.85, "undated (2025-2026)", "https://gpu.blog/gpus/instinct-mi300x-mi300x", ["price"]),
        ("neocloud-mi325x-1", "Neocloud MI325X (2.00-2.25 range)", "various", "mi325x-256gb", 1, ic("none", 0.0, 1), None, 2.00, "undated (2025-2026)", "https://awesomeagents.ai/hardware/amd-mi325x", ["price"]),
    ]
    for sid, name, prov, gid, n, inter, network, usd_h, observed, src, unv in clouds:
        add(sid, name, prov, gid, n, inter, network, price(usd_h, "USD", observed, src), [PRICE_SRC, src], unv)

    # -- purchasable platforms (no source gives a price) -----------------------------------------------
    plat = [
        ("hgx-a100-8gpu-80gb", "NVIDIA HGX A100 8-GPU (80GB)", "a100-sxm4-80gb", 8, nvs("a100-sxm4-80gb"), None, None, []),
        ("hgx-a100-8gpu-40gb", "NVIDIA HGX A100 8-GPU (40GB)", "a100-sxm4-40gb", 8, nvs("a100-sxm4-40gb"), None, None, []),
        ("hgx-a100-4gpu-80gb", "NVIDIA HGX A100 4-GPU (80GB)", "a100-sxm4-80gb", 4, ic("nvlink_mesh", 300.0, 4), None, None, ["interconnect"]),
        ("hgx-a100-16gpu-80gb", "Two HGX A100 8-GPU boards joined into a 16-GPU NVLink domain", "a100-sxm4-80gb", 16, ic("nvswitch", 300.0, 16), None, None, ["interconnect"]),
        ("dgx-a100-80gb", "NVIDIA DGX A100 (80GB)", "a100-sxm4-80gb", 8, nvs("a100-sxm4-80gb"), net("infiniband", 200), 6.5, []),
        ("hgx-h100-8gpu", "NVIDIA HGX H100 8-GPU", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), None, None, []),
        ("hgx-h100-4gpu", "NVIDIA HGX H100 4-GPU", "h100-sxm-80gb", 4, ic("nvlink_mesh", 450.0, 4), None, None, ["interconnect"]),
        ("dgx-h100", "NVIDIA DGX H100", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), net("infiniband", 400), 10.2, []),
        ("hgx-h200-8gpu", "NVIDIA HGX H200 8-GPU", "h200-sxm-141gb", 8, nvs("h200-sxm-141gb"), None, None, []),
        ("hgx-h200-4gpu", "NVIDIA HGX H200 4-GPU", "h200-sxm-141gb", 4, ic("nvlink_mesh", 450.0, 4), None, None, ["interconnect"]),
        ("dgx-h200", "NVIDIA DGX H200", "h200-sxm-141gb", 8, nvs("h200-sxm-141gb"), net("infiniband", 400), 10.2, []),
        ("hgx-b200-8gpu", "NVIDIA HGX B200 8-GPU", "b200-sxm-180gb", 8, nvs("b200-sxm-180gb"), net("infiniband", 400), None, ["network"]),
        ("dgx-b200", "NVIDIA DGX B200", "b200-sxm-180gb", 8, nvs("b200-sxm-180gb"), net("infiniband", 400), 14.3, []),
        ("hgx-b300-8gpu", "NVIDIA HGX B300 8-GPU (launched as HGX B300 NVL16)", "b300-sxm-288gb", 8, nvs("b300-sxm-288gb"), net("infiniband", 800), None, ["network"]),
        ("dgx-b300", "NVIDIA DGX B300", "b300-sxm-288gb", 8, nvs("b300-sxm-288gb"), net("infiniband", 800), 14.0, ["power_kw"]),
        ("amd-mi300x-8", "AMD Instinct MI300X Platform (8x OAM)", "mi300x-192gb", 8, ic("infinity_fabric", 448.0, 8), net("infiniband", 400), None, ["network"]),
        ("amd-mi325x-8", "AMD Instinct MI325X Platform (8x OAM)", "mi325x-256gb", 8, ic("infinity_fabric", 448.0, 8), net("infiniband", 400), None, ["network"]),
        ("amd-mi355x-8", "AMD Instinct MI355X Platform (8x OAM)", "mi355x-288gb", 8, ic("infinity_fabric", 537.5, 8), net("infiniband", 400), None, ["network"]),
        ("gaudi2-8card", "Intel Gaudi 2 8-card server (HLS-Gaudi2)", "gaudi2-96gb", 8, ic("roce_mesh", 262.5, 8), net("roce", 300), None, []),
        ("gaudi3-8card", "Intel Gaudi 3 8-card server (HLS-3 reference)", "gaudi3-128gb-oam", 8, ic("roce_mesh", 525.0, 8), net("roce", 600), None, []),
        ("dgx-2-v100", "NVIDIA DGX-2 / HGX-2 (16x V100 32GB, NVSwitch)", "v100-sxm2-32gb", 16, ic("nvswitch", 150.0, 16), None, None, ["gpu", "interconnect"]),
    ]
    for sid, name, gid, n, inter, network, power, unv in plat:
        note = None
        if sid == "dgx-2-v100":
            note = "DGX-2 used V100 SXM3 32GB (350 W); catalogued with the SXM2 32GB part (same memory and bandwidth)."
        if sid == "hgx-a100-16gpu-80gb":
            note = "Reference: 'Two 8-GPU boards could be joined back-to-back into a 16-GPU NVLink domain.'"
        add(sid, name, "purchase", gid, n, inter, network, None, [PLATFORM_SRC], unv, note, power)

    # -- PCIe servers with 1/2/4/8 cards for the PCIe GPUs ---------------------------------------------
    pcie_gpus = [g["id"] for g in gpus if g["form_factor"].startswith("PCIe")]
    for gid in pcie_gpus:
        g = G[gid]
        sizes = (4, 8) if gid == "a16-64gb" else (1, 2, 4, 8)
        for n in sizes:
            inter = pcie_interconnect(g, n)
            add(f"pcie-{gid}-x{n}", f"PCIe server, {n}x {g['name']}", "purchase", gid, n, inter, None, None, [PCIE_SRC],
                [], "A16 boards carry 4 GPUs each." if gid == "a16-64gb" else None)
    return servers


def dump(path: Path, key: str, items: list[dict], header: str) -> None:
    text = yaml.safe_dump({key: items}, sort_keys=False, allow_unicode=True, width=200)
    path.write_text(header + text)


def main() -> None:
    gpus = build_gpus(Path(ARGS.reference))
    models = build_models(Path(ARGS.reference)) + build_config_models(Path(ARGS.reference))
    servers = build_servers(gpus)
    hdr = "# Generated by tools/build_catalog.py from ../shared/reference; edit the generator, not this file.\n"
    dump(ROOT / "catalog" / "gpus.yaml", "gpus", gpus, hdr + "# Units: memory GB/GiB, bandwidth TB/s, dense TFLOPS (TOPS for int), link GB/s bidirectional, power W.\n")
    dump(ROOT / "catalog" / "models.yaml", "models", models, hdr)
    dump(ROOT / "catalog" / "servers.yaml", "servers", servers, hdr + "# Units: interconnect GB/s per GPU per direction; network Gb/s per GPU; price per server-hour; power kW.\n")
    print(f"{len(gpus)} gpus, {len(models)} models, {len(servers)} servers")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--reference", default=str(ROOT.parent / "shared" / "reference"))
    ARGS = p.parse_args()
    main()
