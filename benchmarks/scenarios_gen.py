"""Deterministic generator of realistic scenarios over the built-in catalog (shared by the benchmarks)."""

from __future__ import annotations

import random

MODELS = ["llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "qwen3-8b", "mistral-7b-v0.3", "gemma-3-12b", "qwen3-14b",
          "mistral-small-3-24b", "gemma-3-27b", "qwen3-32b", "qwen3-30b-a3b", "gpt-oss-20b", "mixtral-8x7b",
          "llama-3.3-70b", "qwen2.5-72b", "gpt-oss-120b", "llama-4-scout", "mistral-large-2-123b", "qwen3-235b-a22b",
          "llama-3.1-405b", "deepseek-v3", "deepseek-r1"]
ENGINES = ["any", "any", "any", "vllm", "sglang", "tensorrt-llm", "tgi", "ollama", "llama.cpp", "lmdeploy"]


def scenario_fields(rng: random.Random, i: int, native: dict[str, int]) -> dict:
    model = rng.choice(MODELS)
    ctx = min(rng.choice([4096, 8192, 8192, 32768, 131072]), native.get(model, 131072))
    out = rng.choice([128, 256, 512, 1024])
    inp = max(64, min(ctx - out, rng.choice([256, 1000, 2000, 4000, 16000, 100000])))
    f = {
        "id": f"s{i:05d}",
        "model": model,
        "context_tokens": ctx,
        "input_tokens": inp,
        "output_tokens": out,
        "precision": rng.choice(["bf16", "bf16", "fp16", "fp8", "fp8", "int4", "fp4"]),
        "users": rng.choice([1, 1, 4, 10, 32, 100, 500, 2000, 10000]),
        "engine": rng.choice(ENGINES),
    }
    if rng.random() < 0.4:
        f["min_tokens_per_s_per_user"] = rng.choice([5, 10, 20, 40])
    if rng.random() < 0.3:
        f["max_ttft_ms"] = rng.choice([500, 2000, 10000])
    if rng.random() < 0.2:
        f["budget_per_hour"] = rng.choice([5, 20, 100, 1000])
    if rng.random() < 0.25:
        f["load"] = "bursty"
        f["peak_factor"] = rng.choice([1.5, 2, 4])
    if rng.random() < 0.2:
        f["allow_multi_server"] = True
    if rng.random() < 0.2:
        f["objectives"] = rng.choice([["cost"], ["cost", "throughput", "latency"], ["throughput", "latency"]])
    if rng.random() < 0.15:
        f["allow_fallback_precision"] = True
    return f


def generate(n: int, seed: int = 0) -> list[dict]:
    from solver.schema.catalog import load_catalog

    native = {m.id: m.native_context for m in load_catalog().models.values()}
    rng = random.Random(seed)
    return [scenario_fields(rng, i, native) for i in range(n)]
