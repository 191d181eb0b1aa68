"""Model entries from reference/models.yaml: architecture, parameter counts, checkpoints."""

from __future__ import annotations

import re
from pathlib import Path

import yaml


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
