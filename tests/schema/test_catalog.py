"""The built-in catalog: complete, sourced, consistent with the reference, and overlays that merge."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.errors import CatalogError, UnknownIdError
from solver.schema.catalog import load_catalog


def test_sizes(catalog):
    assert len(catalog.gpus) == 38
    assert len(catalog.engines) == 7
    assert len(catalog.models) == 49
    assert {"vllm", "sglang", "tensorrt-llm", "tgi", "ollama", "llama.cpp", "lmdeploy"} == set(catalog.engines)


def test_every_entry_has_a_source(catalog):
    for items in (catalog.gpus, catalog.servers, catalog.engines, catalog.models, catalog.calibration):
        for item in items.values():
            assert item.source and all(s.strip() for s in item.source), item.id


def test_every_reference_resolves(catalog):
    for s in catalog.servers.values():
        assert s.gpu in catalog.gpus, s.id
    for c in catalog.calibration.values():
        assert c.engine == "*" or c.engine in catalog.engines


def test_every_ovh_flavour_is_a_server_with_its_eur_price(catalog, reference):
    ovh = yaml.safe_load((reference / "seed_and_ovhcloud.yaml").read_text())["ovh_public_cloud_gpu_eur"]
    for flavour, f in ovh.items():
        if not isinstance(f, dict) or "eur_per_hour" not in f:
            continue
        s = catalog.servers[f"ovh-{flavour}"]
        assert s.price is not None and s.price.currency == "EUR"
        assert s.price.amount_per_hour == pytest.approx(f["eur_per_hour"])
        assert s.gpu_count == f["gpus"]


def test_servers_without_price_say_so(catalog):
    unpriced = [s for s in catalog.servers.values() if s.price is None]
    assert unpriced, "purchasable platforms have no sourced price"
    assert all(s.provider in ("purchase", "ovhcloud") for s in unpriced)


def test_spot_checks():
    cat = load_catalog()
    h100 = cat.gpu("h100-sxm")
    assert (h100.memory_gb_labelled, h100.memory_bandwidth_tbs) == (80, 3.35)
    assert h100.dense_tflops["bf16"] == pytest.approx(989.5)
    llama = cat.model("meta-llama/Llama-3.3-70B-Instruct")
    assert (llama.layers, llama.kv_heads, llama.head_dim) == (80, 8, 128)


def test_gpus_equal_reference(catalog, reference):
    ref = yaml.safe_load((reference / "hardware.yaml").read_text())["gpus"]
    assert {g["id"] for g in ref} == set(catalog.gpus)
    for g in ref:
        c = catalog.gpus[g["id"]]
        assert c.memory_gb_labelled == g["memory_gb"]
        assert c.memory_bandwidth_tbs == g["memory_bw_tbs"]
        for k in ("fp16", "bf16", "fp8", "fp4"):
            assert c.dense_tflops.get(k) == g["tflops_dense"].get(k), (g["id"], k)


def test_unverified_flags_carried(catalog, reference):
    text = (reference / "hardware.yaml").read_text()
    # the A10G's tensor rates and TDP carry '# unverified' in the reference
    assert "# unverified - NVIDIA/AWS publish no A10G datasheet" in text
    assert {"dense_tflops", "tdp_w"} <= set(catalog.gpus["a10g-24gb"].unverified)
    assert catalog.gpus["h200-sxm-141gb"].unverified == []
    # the H100 SXM's only all-reduce row is NVLink SHARP's: its ring share is the H200's, flagged
    assert catalog.gpus["h100-sxm-80gb"].unverified == ["attainable"]
    assert catalog.gpus["h100-sxm-80gb"].attainable.borrowed == ["allreduce"]


def test_models_equal_reference(catalog, reference):
    ref = yaml.safe_load((reference / "models.yaml").read_text())["models"]
    for m in ref:
        c = catalog.models[m["id"]]
        assert (c.layers, c.hidden_size, c.attention_heads, c.kv_heads) == (
            m["num_hidden_layers"], m["hidden_size"], m["num_attention_heads"], m["num_key_value_heads"])
        assert c.params_total == m["computed_total_params"]


def test_config_models_count_parameters_like_the_reference(catalog, reference):
    """solver/schema/hf_config.py counts a model known only by its config.json (MiniMax-M2.5) with the
    reference's convention: given the Qwen3 MoE models' configs it reproduces the reference counts."""
    from solver.schema import hf_config as bc

    for m in yaml.safe_load((reference / "models.yaml").read_text())["models"]:
        if m["id"] not in ("qwen3-235b-a22b", "qwen3-30b-a3b"):
            continue
        cfg = {"hidden_size": m["hidden_size"], "head_dim": m["head_dim"], "num_attention_heads": m["num_attention_heads"],
               "num_key_value_heads": m["num_key_value_heads"], "num_local_experts": m["moe"]["num_experts"],
               "num_experts_per_tok": m["moe"]["experts_per_token"], "intermediate_size": m["moe_intermediate_size"],
               "vocab_size": m["vocab_size"], "tie_word_embeddings": m["tie_word_embeddings"], "num_hidden_layers": m["num_hidden_layers"]}
        assert bc.gqa_moe_params(cfg) == (m["computed_total_params"], m["computed_active_params_per_token"], m["computed_embedding_params"])
    mm = catalog.model("MiniMaxAI/MiniMax-M2.5")
    assert mm.id == "minimax-m2.5" and 225e9 < mm.params_total < 232e9 and 10e9 < mm.params_active < 12e9
    assert "params_total" in mm.unverified
    # the MLA counter: Kimi-K2.5's decoder is Kimi-K2's (reference counts), whatever its vision tower
    k2 = next(m for m in yaml.safe_load((reference / "models.yaml").read_text())["models"] if m["id"] == "kimi-k2")
    cfg = json.loads((reference / "model_configs" / "moonshotai--Kimi-K2.5_config.json").read_text())["text_config"]
    assert bc.mla_moe_params(cfg) == (k2["computed_total_params"], k2["computed_active_params_per_token"], k2["computed_embedding_params"])
    # the hybrid counter: no reference count exists for Qwen3.5, so its name's (397B total, 17B active;
    # the checkpoint's MTP layer and vision tower, ~1B, are not counted)
    q = json.loads((reference / "model_configs" / "Qwen--Qwen3.5-397B-A17B_config.json").read_text())["text_config"]
    total, active, _ = bc.hybrid_moe_params(q)
    assert 394e9 < total < 397e9 and 17.0e9 < active < 17.6e9
    k25 = catalog.model("moonshotai/Kimi-K2.5")
    assert (k25.params_total, k25.kv_bytes_per_token_bf16) == (k2["computed_total_params"], k2["kv_cache"]["kv_bytes_per_token_bf16"])


def test_int4_expert_checkpoint_sizes_the_weights(catalog):
    """Kimi-K2.5's published INT4 experts (group 32, a BF16 scale each) with 16-bit attention, shared
    experts and embeddings: ~595 GB in all, not the 1T x 2 bytes a uniform BF16 count gives, nor 0.5
    byte for every weight."""
    from solver.predict.memory import weight_bytes
    from solver.schema.precision import Precision

    m = catalog.model("kimi-k2.5")
    assert m.checkpoint and m.checkpoint.precision == Precision.int4 and m.checkpoint.scale_bytes_per_param == 2 / 32
    experts = m.moe.experts * m.moe.moe_layers * 3 * m.hidden_size * m.moe.expert_intermediate_size
    want = experts * (0.5 + 2 / 32) + (m.params_total - experts) * 2
    assert weight_bytes(m, Precision.int4) == pytest.approx(want, rel=1e-6)
    assert 585e9 < weight_bytes(m, Precision.int4) < 600e9


def test_unknown_id_offers_closest(catalog):
    with pytest.raises(UnknownIdError) as e:
        catalog.gpu("h100-sxn")
    assert "h100-sxm" in str(e.value)
    with pytest.raises(UnknownIdError) as e:
        catalog.model("llama-3.3-7b")
    assert "llama-3.3-70b" in str(e.value)


def test_a_family_name_lists_its_members(catalog):
    """'a100' is not an id: the error lists every A100 (difflib alone suggested a10, a10g, v100s)."""
    with pytest.raises(UnknownIdError) as e:
        catalog.gpu("a100")
    assert all(g in str(e.value) for g in ("a100-pcie-40gb", "a100-pcie-80gb", "a100-sxm4-40gb", "a100-sxm4-80gb"))
    assert "v100s" not in str(e.value)


# ------------------------------------------------------------------------------------------ overlays
def write(tmp_path: Path, name: str, data: dict | str) -> Path:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return p


def test_overlay_changes_one_price(tmp_path):
    p = write(tmp_path, "price.yaml", {"servers": [{"id": "ovh-h100-380", "price": {"amount_per_hour": 2.24}}]})
    cat = load_catalog([p])
    s = cat.servers["ovh-h100-380"]
    assert s.price.amount_per_hour == 2.24
    assert s.price.currency == "EUR"  # untouched fields survive the merge
    assert s.gpu == "h100-sxm-80gb"


def test_overlay_adds_and_removes(tmp_path):
    new = {"id": "my-h100-x2", "name": "Own 2x H100", "provider": "onprem", "gpu": "h100-sxm-80gb", "gpu_count": 2,
           "interconnect": {"kind": "nvlink_bridge", "per_gpu_gbs": 300, "fast_domain_gpus": 2, "latency_us": 4},
           "network": None, "price": {"amount_per_hour": 3.0, "currency": "EUR", "observed": "2026", "source": "quote"},
           "source": ["internal quote"]}
    folder = tmp_path / "overlays"
    folder.mkdir()
    write(folder, "a.yaml", {"servers": [new]})
    write(folder, "b.yaml", {"servers": [{"id": "ovh-l4-90", "remove": True}]})
    cat = load_catalog([folder])
    assert "my-h100-x2" in cat.servers
    assert "ovh-l4-90" not in cat.servers


def test_bad_field_names_file_entry_field_line_and_suggestion(tmp_path):
    text = "servers:\n- id: ovh-h100-380\n  price:\n    amount_per_hour: cheap\n"
    p = write(tmp_path, "bad.yaml", text)
    with pytest.raises(CatalogError) as e:
        load_catalog([p])
    msg = str(e.value)
    assert f"{p}:4:" in msg and "servers[id=ovh-h100-380].price.amount_per_hour" in msg


def test_unknown_field_suggests_nearest(tmp_path):
    p = write(tmp_path, "bad.yaml", {"gpus": [{"id": "l4-24gb", "memory_bandwith_tbs": 0.3}]})
    with pytest.raises(CatalogError) as e:
        load_catalog([p])
    assert "memory_bandwith_tbs: unknown field" in str(e.value)
    assert "memory_bandwidth_tbs" in str(e.value)


def test_unknown_nested_field_suggests_nearest(tmp_path):
    """A misspelt field inside a nested entry (an engine's scheduling, a server's price) gets the nearest
    name of that nested model, not of the entry."""
    p = write(tmp_path, "bad.yaml", "engines:\n- id: sglang\n  scheduling: {mixed_prefil: true, source: [flags]}\n"
                                    "servers:\n- id: ovh-h100-380\n  price: {amount_per_hour: 2.0, currensy: EUR}\n")
    with pytest.raises(CatalogError) as e:
        load_catalog([p])
    msg = str(e.value)
    assert f"{p}:3: engines[id=sglang].scheduling.mixed_prefil: unknown field. Did you mean: mixed_prefill?" in msg
    assert "servers[id=ovh-h100-380].price.currensy: unknown field. Did you mean: currency" in msg


def test_an_engine_overlay_can_state_that_it_mixes_prefill(tmp_path, catalog):
    """SGLang launched with --enable-mixed-chunk: the overlay says so and its speed follows."""
    p = write(tmp_path, "mixed.yaml", "engines:\n- id: sglang\n  scheduling: {mixed_prefill: true, source: [launch flags]}\n")
    assert not catalog.engine("sglang").mixes_prefill
    assert load_catalog([p]).engine("sglang").mixes_prefill


def test_a_pool_cap_whose_bounds_cross_is_refused(tmp_path):
    rule = "{requests_per_context_of_pool: 512, min_requests: 4096, max_requests: 2048, pool_tokens_per_request: 2}"
    p = write(tmp_path, "cap.yaml", f"engines:\n- id: sglang\n  scheduling: {{max_running_from_pool: {rule}, source: [flags]}}\n")
    with pytest.raises(CatalogError) as e:
        load_catalog([p])
    assert "engines[id=sglang].scheduling.max_running_from_pool.max_requests" in str(e.value)
    assert "below min_requests 4096" in str(e.value)


def test_an_engine_overlay_can_state_its_token_budget(tmp_path, catalog):
    """vLLM launched with --max-num-batched-tokens 16384: the overlay's list replaces the GPU rules, the rest
    of the scheduling block (mixed prefill, running cap) stays, and estimates chunk prompts by it."""
    from solver.predict.estimate import estimate

    p = write(tmp_path, "budget.yaml", "engines:\n- id: vllm\n  scheduling: {token_budget: [{tokens: 16384}], source: [launch flags]}\n")
    from solver.schema.precision import Precision as P

    def run(c):
        return estimate(c, c.model("llama-3.1-8b"), c.gpu("l40s"), c.engine("vllm"), P.fp8, P.bf16, 1, 1, 4000, 256, 32).as_dict()

    before, after = run(catalog), run(load_catalog([p]))
    assert (before["prefill_chunk_tokens"], after["prefill_chunk_tokens"]) == (2048, 16384)
    assert after["prefill_mixed_into_decode"] and after["parallel_requests"] == 256
    assert after["memory_gib"]["activations"] > before["memory_gib"]["activations"]


def test_engine_listing_says_how_prefill_shares_the_gpus_and_what_runs_at_once(catalog):
    from solver.cli.catalog_cmd import engine_row

    got = {e: engine_row(catalog.engine(e))["prefill"] for e in ("vllm", "sglang", "tgi")}
    assert got == {"vllm": "mixed", "sglang": "own pass", "tgi": "own pass (assumed)"}
    caps = {e: engine_row(catalog.engine(e))["max_parallel_requests"] for e in ("vllm", "ollama", "sglang", "tensorrt-llm")}
    assert caps == {"vllm": "1024 on >= 70 GiB, not a100; 256", "ollama": 1,
                    "sglang": "pool tokens / context x 512, 2048-4096, <= pool tokens / 2", "tensorrt-llm": "2048"}
    budgets = {e: engine_row(catalog.engine(e))["token_budget"] for e in ("vllm", "sglang", "tgi", "ollama")}
    assert budgets == {"vllm": "8192 on >= 70 GiB, not a100; 2048", "sglang": "2048 below 35 GiB; 4096 below 60 GiB; 8192 below 160 GiB; 16384",
                       "tgi": "8192 (assumed)", "ollama": "2048 (n_batch)"}


def test_literal_value_suggests_nearest(tmp_path):
    p = write(tmp_path, "bad.yaml", {"gpus": [{"id": "l4-24gb", "compat_key": "nvidia_hoper"}]})
    with pytest.raises(CatalogError) as e:
        load_catalog([p])
    assert "nvidia_hopper" in str(e.value)


def test_unverified_engine_cell_must_exist(tmp_path):
    p = write(tmp_path, "bad.yaml", "engines:\n- id: vllm\n  unverified: [precision.fp4.nvidia_hoper]\n")
    with pytest.raises(CatalogError) as e:
        load_catalog([p])
    msg = str(e.value)
    assert f"{p}:3: engines[id=vllm].unverified" in msg and "Did you mean: precision.fp4.nvidia_hopper" in msg
    # the invalid engine is reported once, not again as a dangling reference from its calibration entries
    assert len(e.value.problems) == 1, e.value.problems
    trt = load_catalog().engines["tensorrt-llm"]
    assert trt.unverified_cell("precision", "fp4", "nvidia_hopper") == "precision.fp4.nvidia_hopper"
    assert trt.unverified_cell("precision", "fp4", "nvidia_blackwell_dc") is None


def test_a_flagged_vendor_or_default_cell_is_reported_for_every_class_that_reads_it(catalog):
    """The flag is on the cell the lookup reads (exact class -> vendor -> default), not on the class name."""
    from solver.schema.engine import Engine

    vllm = Engine.model_validate({**catalog.engine("vllm").model_dump(), "unverified": ["kv_precision.fp8.default"]})
    assert vllm.doubts("nvidia_hopper", "bf16", "fp8") == ["kv_precision.fp8.default"]
    assert vllm.doubts("amd_mi300", "bf16", "fp8") == ["kv_precision.fp8.default"]
    assert vllm.doubts("nvidia_hopper", "bf16", "bf16") == []


def test_dangling_gpu_reference(tmp_path):
    p = write(tmp_path, "bad.yaml", {"servers": [{"id": "ovh-l4-90", "gpu": "l4-24gbb"}]})
    with pytest.raises(CatalogError) as e:
        load_catalog([p])
    assert "no GPU 'l4-24gbb'" in str(e.value) and "l4-24gb" in str(e.value)


def test_a_gpus_burst_factor_must_name_a_gpu_of_the_entrys_class(tmp_path, catalog):
    entry = catalog.calibration["vllm@nvidia_hopper"].model_dump(mode="json")
    for gpus, expected in (({"h200-sxm-141": 0.5}, ["no GPU 'h200-sxm-141'", "h200-sxm-141gb"]),
                           ({"a100-sxm4-80gb": 0.5}, ["GPU 'a100-sxm4-80gb' is of class 'nvidia_ampere', not the entry's 'nvidia_hopper'"])):
        p = write(tmp_path, "bad.yaml", {"calibration": [{**entry, "burst_factor_by_gpu": gpus}]})
        with pytest.raises(CatalogError) as e:
            load_catalog([p])
        assert f"{p}:" in str(e.value) and "calibration[id=vllm@nvidia_hopper].burst_factor_by_gpu" in str(e.value)
        for text in expected:
            assert text in str(e.value)


def test_invalid_yaml_names_line(tmp_path):
    p = write(tmp_path, "bad.yaml", "servers:\n  - id: x\n   bad: [\n")
    with pytest.raises(CatalogError) as e:
        load_catalog([p])
    assert re.search(rf"{re.escape(str(p))}:\d+: not valid YAML", str(e.value))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_price_overlays_merge_property(tmp_path_factory, data):
    cat = load_catalog()
    priced = sorted(s for s, v in cat.servers.items() if v.price is not None)
    chosen = data.draw(st.lists(st.sampled_from(priced), min_size=1, max_size=5, unique=True))
    factors = data.draw(st.lists(st.floats(0.1, 3.0), min_size=len(chosen), max_size=len(chosen)))
    overlay = {"servers": [{"id": s, "price": {"amount_per_hour": round(cat.servers[s].price.amount_per_hour * f, 4)}}
                           for s, f in zip(chosen, factors, strict=True)]}
    p = write(tmp_path_factory.mktemp("ov"), "o.yaml", overlay)
    merged = load_catalog([p])
    for entry in overlay["servers"]:
        assert merged.servers[entry["id"]].price.amount_per_hour == entry["price"]["amount_per_hour"]
        assert merged.servers[entry["id"]].price.currency == cat.servers[entry["id"]].price.currency
    untouched = set(priced) - set(chosen)
    for s in untouched:
        assert merged.servers[s] == cat.servers[s]


# ------------------------------------------------------------------------------------------------ CLI
def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver.cli.main", *args], capture_output=True, text=True)


def test_cli_list_gpus_json_lists_all():
    import json

    r = run("catalog", "list", "gpus", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) == 38


def test_cli_validate_ok_and_broken(tmp_path):
    assert run("catalog", "validate").returncode == 0
    p = write(tmp_path, "bad.yaml", {"servers": [{"id": "ovh-l4-90", "gpu_count": 3}]})
    r = run("catalog", "validate", str(p))
    assert r.returncode == 2
    assert "servers[id=ovh-l4-90].gpu_count" in r.stderr and "Traceback" not in r.stderr


def test_cli_unknown_id_exit_2():
    r = run("catalog", "show", "h100-sxn")
    assert r.returncode == 2 and "Did you mean" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [["--help"], ["catalog", "list", "gpus", "--format", "csv"], ["catalog", "validate"]])
def test_catalog_commands_do_not_import_ortools(args):
    code = ("import sys\nfrom solver.cli.main import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            "assert 'ortools' not in sys.modules, 'ortools imported'\nprint('clean')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and "clean" in r.stdout, r.stderr


def test_a_calibration_overlay_with_the_former_field_name_still_merges(tmp_path):
    """An overlay written before the fixed prefill latency was split names it prefill_overhead_ms: it
    overrides the built-in entry's shared_wait_ms, the other fields kept."""
    base, _ = load_catalog().factors("vllm", "nvidia_hopper")
    p = write(tmp_path, "old.yaml", {"calibration": [{"id": "vllm@nvidia_hopper", "prefill_overhead_ms": 77.0}]})
    got, _ = load_catalog([p]).factors("vllm", "nvidia_hopper")
    assert got.shared_wait_ms == 77.0 != base.shared_wait_ms
    assert got.model_copy(update={"shared_wait_ms": base.shared_wait_ms}) == base
