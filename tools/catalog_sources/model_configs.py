"""Model entries for models known only by their Hugging Face config.json (reference/model_configs/): the
entries solver.schema.hf_config builds (its counters reproduce reference/models.yaml's counts; tests in
tests/schema/test_catalog.py), with each model's name, repository and notes."""

from __future__ import annotations

import json
from pathlib import Path

from solver.schema.hf_config import entry_from_config

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
        entry = entry_from_config(raw, mid, meta["name"], meta["hf_repo"], f"shared/reference/model_configs/{meta['file']}",
                                  f"shared/reference/model_configs/{meta['file']} (Hugging Face config.json, copied from "
                                  "github.com/ai-dynamo/aiconfigurator model_configs, Apache-2.0)")
        entry["aliases"] = meta.get("aliases", [])
        entry["notes"] = meta["notes"]
        out.append(entry)
    return out
