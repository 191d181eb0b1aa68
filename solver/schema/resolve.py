"""Turn what a user typed (model name, HF repo, or a bare parameter count) into catalog objects."""

from __future__ import annotations

import json
import re
from pathlib import Path

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


HF_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def config_file(name: str) -> Path | None:
    """The config.json a model argument names: the file itself, or one inside the folder it names."""
    p = Path(name).expanduser()
    if p.is_dir() and (p / "config.json").is_file():
        return p / "config.json"
    if p.is_file() and p.suffix == ".json":
        return p
    return None


def model_from_file(path: Path, hf_repo: str | None = None) -> LlmModel:
    """The model a config.json file describes (its checkpoint's precision in published_precision)."""
    from solver.schema.hf_config import model_from_config

    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ScenarioError(f"{path}: not a readable config.json ({e})") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: a config.json is a JSON object")
    model, _ = model_from_config(raw, str(path), hf_repo)
    if hf_repo is None:  # name it by its folder (org/model checkouts) or the file
        stem = path.parent.name if path.name == "config.json" else path.stem.removesuffix("_config").removesuffix("-config")
        model = model.model_copy(update={"id": stem.lower(), "name": stem})
    return model


def fetch_config(repo: str) -> Path:
    """config.json of a Hugging Face repo, through huggingface_hub's cache (config files only; with
    HF_HUB_OFFLINE=1, the cache alone)."""
    advice = (f"'{repo}' is not in the catalog and its config.json could not be fetched from Hugging Face ({{why}}). "
              "Give the path to its config.json (or the folder holding it) as --model, or the parameter count with "
              "--params-b (the guide's memory rule and an assumed shape).")
    try:
        from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
    except ImportError:
        raise ScenarioError(advice.format(why="huggingface_hub is not installed")) from None
    cached = try_to_load_from_cache(repo, "config.json")
    if isinstance(cached, str):
        return Path(cached)
    if constants.HF_HUB_OFFLINE:
        raise ScenarioError(advice.format(why="offline (HF_HUB_OFFLINE) and not in the local cache"))
    if not _reachable(constants.ENDPOINT):
        raise ScenarioError(advice.format(why=f"{constants.ENDPOINT} cannot be reached"))
    try:
        return Path(hf_hub_download(repo, "config.json", etag_timeout=5))
    except Exception as e:  # noqa: BLE001 - unknown, gated or private repo, network: all say the same to the user
        raise ScenarioError(advice.format(why=f"{type(e).__name__}: {str(e).splitlines()[0][:120]}")) from None


def _reachable(url: str, timeout_s: float = 3.0) -> bool:
    """Whether the endpoint's host accepts a connection (so that an offline machine fails at once,
    not after the hub client's retries)."""
    import socket
    from urllib.parse import urlparse

    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "", u.port or (443 if u.scheme == "https" else 80)), timeout=timeout_s):
            return True
    except OSError:
        return False


def resolve_model(catalog: Catalog, name: str | None, params_b: float | None = None) -> tuple[LlmModel, bool]:
    """(model, known): a catalog model; a model read from a config.json (a path to it or its folder, or
    a Hugging Face repo outside the catalog, fetched); or a synthetic one for a bare parameter count."""
    if name is not None:
        try:
            return catalog.model(name), True
        except UnknownIdError as unknown:
            guess = parse_params_b(name)
            if guess is None:
                path = config_file(name)
                if path is not None:
                    return model_from_file(path), True
                if HF_REPO.match(name.strip()) and params_b is None:
                    return model_from_file(fetch_config(name.strip()), hf_repo=name.strip()), True
                raise ScenarioError(f"{unknown} Or give the path to its config.json, or --params-b.") from None
            params_b = guess
    if params_b is None:
        raise ScenarioError("give a model (catalog id or Hugging Face name) or a parameter count")
    return synthetic_model(params_b), False
