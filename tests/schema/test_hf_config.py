"""Any model: a config.json path or folder, or a Hugging Face repo through huggingface_hub's cache, read
into the same model the catalog would hold; a clear message when it cannot be had."""

from __future__ import annotations

import json
import shutil

import pytest

from solver.errors import ScenarioError
from solver.plan.planner import solve
from solver.schema.hf_config import dense_params, model_from_config
from solver.schema.resolve import resolve_model
from solver.schema.scenario import Scenario
from tests.conftest import REFERENCE

CONFIGS = REFERENCE / "model_configs"
needs_configs = pytest.mark.skipif(not CONFIGS.exists(), reason="../shared/reference/model_configs not found")


@pytest.mark.parametrize(("model_id", "config"), [
    ("llama-3.1-8b", {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
                      "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256, "tie_word_embeddings": False}),
    ("qwen3-8b", {"model_type": "qwen3", "hidden_size": 4096, "num_hidden_layers": 36, "num_attention_heads": 32,
                  "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 12288, "vocab_size": 151936,
                  "tie_word_embeddings": False}),
])
def test_dense_counts_match_the_reference(catalog, model_id, config):
    m = catalog.model(model_id)
    assert dense_params(config) == (m.params_total, m.params_total, m.embedding_params)


@needs_configs
def test_a_config_file_or_its_folder_is_a_model_and_its_quantisation_the_default_precision(catalog, tmp_path):
    src = CONFIGS / "MiniMaxAI--MiniMax-M2.5_config.json"
    by_file, known = resolve_model(catalog, str(src))
    folder = tmp_path / "MiniMax-M2.5"
    folder.mkdir()
    shutil.copy(src, folder / "config.json")
    by_folder, _ = resolve_model(catalog, str(folder))
    ref = catalog.model("minimax-m2.5")  # the catalog's entry, built from the same file
    for m in (by_file, by_folder):
        assert (m.params_total, m.params_active, m.layers, m.kv_bytes_per_token_bf16) == (
            ref.params_total, ref.params_active, ref.layers, ref.kv_bytes_per_token_bf16)
        assert m.published_precision.value == "fp8"
    assert known and by_folder.id == "minimax-m2.5"
    plan = solve(Scenario(model=str(folder), users=8), catalog)
    assert plan.status == "ok" and plan.scenario.precision.value == "fp8"  # its checkpoint's format
    plan = solve(Scenario(model=str(folder), users=8, precision="bf16"), catalog)
    assert plan.scenario.precision.value == "bf16"  # unless the scenario names one


@needs_configs
def test_a_repo_outside_the_catalog_is_read_from_the_hub_cache(catalog, tmp_path, monkeypatch):
    """huggingface_hub's cache layout: models--ORG--NAME/snapshots/REVISION/config.json and refs/main."""
    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--acme--GLM-5-finetune"
    (repo / "snapshots" / "0123abc").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abc")
    shutil.copy(CONFIGS / "zai-org--GLM-5_config.json", repo / "snapshots" / "0123abc" / "config.json")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    m, known = resolve_model(catalog, "acme/GLM-5-finetune")
    assert known and m.hf_repo == "acme/GLM-5-finetune" and m.sparse_attention is not None
    assert m.params_total == catalog.model("glm-5").params_total
    assert "sparse_attention" in m.layer_features


def test_offline_and_unknown_names_say_what_to_give_instead(catalog):
    with pytest.raises(ScenarioError) as e:
        resolve_model(catalog, "acme/not-cached-model")  # HF_HUB_OFFLINE=1 in the tests (conftest)
    msg = str(e.value)
    assert "is not in the catalog" in msg and "--params-b" in msg and "path to its config.json" in msg
    with pytest.raises(ScenarioError) as e:
        resolve_model(catalog, "llama-9-1t")
    assert "Did you mean" in str(e.value) and "--params-b" in str(e.value)


def test_a_config_that_is_no_decoder_is_refused_with_what_is_missing(tmp_path):
    with pytest.raises(ScenarioError) as e:
        model_from_config({"model_type": "bert", "hidden_size": 768}, "bert/config.json")
    assert "bert/config.json" in str(e.value) and "--params-b" in str(e.value)
    f = tmp_path / "config.json"
    f.write_text(json.dumps([1, 2]))
    from solver.schema.resolve import model_from_file

    with pytest.raises(ScenarioError, match="a config.json is a JSON object"):
        model_from_file(f)
