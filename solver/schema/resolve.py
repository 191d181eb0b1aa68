"""Turn what a user typed (model name, HF repo, or a bare parameter count) into catalog objects."""

from __future__ import annotations

import re

from solver.errors import ScenarioError, UnknownIdError
from solver.schema.catalog import Catalog
from solver.schema.llm import LlmModel

_PARAMS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[bB]?\s*$")


def parse_params_b(text: str) -> float | None:
    """'70', '70b', '70B' -> 70.0; anything else -> None."""
    m = _PARAMS.match(str(text))
    return float(m.group(1)) if m else None


def synthetic_model(params_b: float) -> LlmModel:
    """A dense GQA transformer of `params_b` billion parameters, for speed estimates only.

    Shape from the Llama 3 family's scaling (8B: 32 layers x 4096; 70B: 80 x 8192; 405B: 126 x 16384):
    layers ~ 13.3 x B^0.42 (16..126), hidden = sqrt(params / (12 x layers)) rounded to 1024,
    heads of 128, 8 KV heads.  Memory for such a
    model follows the guide's rule (the architecture is not known), see Scenario.memory_rule.
    """
    p = params_b * 1e9
    layers = int(min(126, max(16, round(13.3 * params_b**0.42))))
    hidden = max(1024, int(round((p / (12 * layers)) ** 0.5 / 1024)) * 1024)
    heads = hidden // 128
    kv = 8
    vocab = 128256
    embed = vocab * hidden
    return LlmModel(
        id=f"params-{params_b:g}b", name=f"{params_b:g}B-parameter model (architecture assumed)", hf_repo=None,
        family="dense", params_total=int(p), params_nominal_b=params_b, params_active=int(p), embedding_params=embed,
        tie_word_embeddings=False, layers=layers, hidden_size=hidden, intermediate_size=int(3.5 * hidden),
        attention_heads=heads, kv_heads=kv, head_dim=128, vocab_size=vocab, native_context=131072,
        attention_type="GQA", kv_bytes_per_token_bf16=2 * layers * kv * 128 * 2,
        source=["synthetic: Llama-3-like shape scaled to the parameter count (solver.schema.resolve.synthetic_model)"],
        unverified=["layers", "hidden_size", "attention_heads", "kv_heads"],
    )


def resolve_model(catalog: Catalog, name: str | None, params_b: float | None = None) -> tuple[LlmModel, bool]:
    """(model, known): a catalog model, or a synthetic one for a bare parameter count."""
    if name is not None:
        try:
            return catalog.model(name), True
        except UnknownIdError:
            guess = parse_params_b(name)
            if guess is None:
                raise
            params_b = guess
    if params_b is None:
        raise ScenarioError("give a model (catalog id or Hugging Face name) or a parameter count")
    return synthetic_model(params_b), False
