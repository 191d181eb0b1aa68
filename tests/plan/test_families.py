"""One constraint family per test: feasible when it holds, infeasible when it cannot, and then the
explanation's conflict (CP-SAT's smallest hitting set) names that family.  The families' CP-SAT
encodings are cross-checked on infeasible scenarios by tests/plan/test_pareto_property.py (assumption core)."""

from __future__ import annotations

import pytest

from solver.plan.families import FAMILIES, violations
from tests.helpers import plan, sub_catalog

BASE = dict(model="llama-3.1-8b", context_tokens=8192, input_tokens=1024, output_tokens=256, users=8)


def conflict(p) -> str:
    assert p.status == "infeasible", p.front
    return " | ".join(p.explanation["conflict"])


def ok(p):
    assert p.status == "ok" and p.front and p.stats["validated"]
    return p


def test_every_family_is_covered():
    names = {f.name for f in FAMILIES}
    tested = {n.removeprefix("test_").rsplit("_", 1)[0] for n in globals() if n.startswith("test_") and n.endswith(("_ok", "_fails"))}
    assert names <= tested, names - tested


def test_precision_support_ok(catalog):
    c = sub_catalog(catalog, ["ovh-a100-180"])
    ok(plan(c, base=BASE, precision="fp8", allow_fallback_precision=True))


def test_precision_support_fails(catalog):
    c = sub_catalog(catalog, ["ovh-a100-180"])
    p = plan(c, base=BASE, precision="fp8")
    assert "precision support" in conflict(p)
    assert any("allow fallback precision" in s for s in p.explanation["suggestions"])


def test_engine_features_ok(catalog):
    c = sub_catalog(catalog, ["ovh-us-t2-45"])
    ok(plan(c, base=BASE, precision="fp16", currency="USD"))


def test_engine_features_fails(catalog):
    c = sub_catalog(catalog, ["ovh-us-t2-45"])
    p = plan(c, base=BASE, precision="fp16", currency="USD", features=["flash_attention"])
    assert "engine x hardware features" in conflict(p)
    assert any("FlashAttention" in s for s in p.explanation["suggestions"])


def test_a_models_layer_kinds_are_needed_features(catalog):
    """Qwen3.5's linear-attention layers: only engines documented to implement them on the GPU serve it
    (vLLM and SGLang on Hopper, from their wheels); TensorRT-LLM, with no stored source, is refused with
    the reason, as a feature the user asked for would be.  Llama on the same servers needs none."""
    c = sub_catalog(catalog, ["ovh-h200-1920"])
    q35 = dict(BASE, model="Qwen/Qwen3.5-397B-A17B", precision="fp8")
    p = ok(plan(c, base=q35))
    assert {cfg["engine"] for cfg in p.front} <= {"vllm", "sglang"}
    p = plan(c, base=q35, engine="tensorrt-llm")
    assert "engine x hardware features" in conflict(p)
    assert "TensorRT-LLM has no linear_attention on Hopper (h200-sxm-141gb): not documented" in p.explanation["suggestions"]
    ok(plan(c, base=dict(BASE, precision="fp8"), engine="tensorrt-llm"))


def test_moe_layouts_include_expert_parallelism(catalog):
    """A MoE model on an engine with expert parallelism and an EP efficiency above 1 gets EP = TP layouts
    beside the TP-split ones, validated like any other; TensorRT-LLM's fitted EP efficiency (1.84x the
    TP-split experts' reads) puts them on the front.  The same engine without EP (an overlay), an engine
    whose EP is not faster (vLLM, 0.92) and a dense model get TP layouts only."""
    from solver.schema.catalog import Catalog

    moe = dict(BASE, model="qwen3-235b-a22b", precision="fp8", users=64)
    c = sub_catalog(catalog, ["ovh-h200-1920"], ["tensorrt-llm"])
    p = ok(plan(c, base=moe))
    assert any(cfg["ep"] == cfg["tp"] > 1 for cfg in p.front)
    trt = catalog.engines["tensorrt-llm"]
    no_ep = trt.model_copy(update={"parallelism": trt.parallelism.model_copy(update={"expert_parallel": False})})
    c2 = Catalog(list(c.gpus.values()), list(c.servers.values()), [no_ep], list(c.models.values()),
                 list(c.calibration.values()), c.files, [c.pricing] if c.pricing else None)
    assert {cfg["ep"] for cfg in ok(plan(c2, base=moe)).front} == {1}
    assert {cfg["ep"] for cfg in ok(plan(c, base=dict(BASE, precision="fp8"))).front} == {1}
    assert catalog.factors("vllm", "nvidia_hopper")[0].moe_ep_efficiency <= 1
    vl = ok(plan(sub_catalog(catalog, ["ovh-h200-1920"], ["vllm"]), base=moe))
    assert {cfg["ep"] for cfg in vl.front} == {1}


def test_vram_fit_ok(catalog):
    ok(plan(sub_catalog(catalog, ["ovh-l4-90"]), base=BASE, max_servers=1, users=2))


def test_vram_fit_fails(catalog):
    p = plan(sub_catalog(catalog, ["ovh-l4-90"]), base={**BASE, "input_tokens": 7000, "output_tokens": 1000}, users=64, max_servers=1)
    assert "VRAM fit" in conflict(p)


def test_multi_server_ok(catalog):
    c = sub_catalog(catalog, ["dgx-h100"])
    ok(plan(c, model="deepseek-v3", precision="fp8", context_tokens=8192, input_tokens=1024, output_tokens=256,
            users=4, objectives=["throughput"], allow_multi_server=True))


def test_multi_server_fails(catalog):
    c = sub_catalog(catalog, ["dgx-h100"])
    p = plan(c, model="deepseek-v3", precision="fp8", context_tokens=8192, input_tokens=1024, output_tokens=256,
             users=4, objectives=["throughput"])
    assert "replica inside one server" in conflict(p)
    assert any("allow multi-server" in s for s in p.explanation["suggestions"])


def test_users_served_ok(catalog):
    ok(plan(sub_catalog(catalog, ["ovh-l40s-90"], ["ollama"]), base=BASE, precision="int4", kv_precision="fp16", users=3))


def test_users_served_fails(catalog):
    p = plan(sub_catalog(catalog, ["ovh-l40s-90"], ["ollama"]), base=BASE, precision="int4", kv_precision="fp16", users=8, max_servers=4)
    c = conflict(p)
    assert "users served" in c and "maximum servers" in c


def test_tpot_target_ok(catalog):
    ok(plan(sub_catalog(catalog, ["ovh-h100-380"]), base=BASE, max_tpot_ms=500))


def test_tpot_target_fails(catalog):
    p = plan(sub_catalog(catalog, ["ovh-h100-380"]), base=BASE, max_tpot_ms=0.5)
    assert "time per output token" in conflict(p)
    assert any("TPOT" in s for s in p.explanation["suggestions"])


def test_per_user_speed_ok(catalog):
    ok(plan(sub_catalog(catalog, ["ovh-h100-380"]), base=BASE, min_tokens_per_s_per_user=5))


def test_per_user_speed_fails(catalog):
    p = plan(sub_catalog(catalog, ["ovh-h100-380"]), base=BASE, min_tokens_per_s_per_user=5000)
    assert "tokens/s per user" in conflict(p)
    assert any("exceeds the fastest option" in s for s in p.explanation["suggestions"])


def test_ttft_target_ok(catalog):
    ok(plan(sub_catalog(catalog, ["ovh-h100-380"]), base=BASE, max_ttft_ms=10_000))


def test_ttft_target_fails(catalog):
    assert "time to first token" in conflict(plan(sub_catalog(catalog, ["ovh-h100-380"]), base=BASE, max_ttft_ms=1))


def test_total_throughput_ok(catalog):
    ok(plan(sub_catalog(catalog, ["ovh-h100-380"]), base=BASE, min_total_tokens_per_s=100))


def test_total_throughput_fails(catalog):
    p = plan(sub_catalog(catalog, ["ovh-h100-380"]), base=BASE, min_total_tokens_per_s=1e7, max_servers=2)
    assert "total tokens/s" in conflict(p)


def test_price_known_ok(catalog):
    ok(plan(sub_catalog(catalog, ["hgx-h100-8gpu"]), base=BASE, objectives=["throughput"]))


def test_price_known_fails(catalog):
    p = plan(sub_catalog(catalog, ["hgx-h100-8gpu"]), **BASE)
    assert "price known" in conflict(p)


def test_budget_ok(catalog):
    ok(plan(sub_catalog(catalog, ["ovh-l4-90", "ovh-h100-380"]), base=BASE, budget_per_hour=3))


def test_budget_fails(catalog):
    p = plan(sub_catalog(catalog, ["ovh-l4-90", "ovh-h100-380"]), base=BASE, budget_per_hour=0.5)
    assert "budget cap" in conflict(p)
    assert any("needs at least 0.75 EUR/h" in s for s in p.explanation["suggestions"])


def test_no_model_is_built_when_every_option_breaks_a_family_alone(catalog, monkeypatch):
    """Every option over the budget on its own: the scenario is infeasible without a CP-SAT model (the
    families' Python rules say so), and the explanation is the model's would be."""
    import solver.plan.cpsat_model as cpsat_model

    def no_model(*a, **k):
        raise AssertionError("a CP-SAT model was built")

    monkeypatch.setattr(cpsat_model, "PlanModel", no_model)
    p = plan(sub_catalog(catalog, ["ovh-l4-90", "ovh-h100-380"]), base=BASE, budget_per_hour=0.5)
    assert p.status == "infeasible" and "budget cap" in conflict(p)
    with pytest.raises(AssertionError, match="CP-SAT model was built"):  # a feasible one still needs the model
        plan(sub_catalog(catalog, ["ovh-l4-90", "ovh-h100-380"]), base=BASE, budget_per_hour=3, max_tpot_ms=60)


def test_allowed_hardware_ok(catalog):
    p = ok(plan(sub_catalog(catalog, ["ovh-l4-90", "ovh-h100-380"]), base=BASE, allowed_gpus=["l4"]))
    assert {c["gpu"] for c in p.front} == {"l4-24gb"}


def test_allowed_hardware_fails(catalog):
    p = plan(sub_catalog(catalog, ["ovh-l4-90", "ovh-h100-380"]), base=BASE, allowed_vendors=["amd"])
    assert "allowed vendors" in conflict(p)


def test_max_servers_ok(catalog):
    p = ok(plan(sub_catalog(catalog, ["ovh-l4-90"]), base=BASE, users=40, max_servers=40))
    assert all(c["servers"] <= 40 for c in p.front)


def test_max_servers_fails(catalog):
    p = plan(sub_catalog(catalog, ["ovh-l4-90"]), base={**BASE, "input_tokens": 7000, "output_tokens": 1000}, users=400, max_servers=2)
    assert "maximum servers" in conflict(p)


def test_stock_ok(catalog):
    c = sub_catalog(catalog, ["ovh-l4-90"], updates={"ovh-l4-90": {"stock": 3}})
    p = ok(plan(c, **BASE))
    assert all(x["servers"] <= 3 for x in p.front)


def test_stock_fails(catalog):
    c = sub_catalog(catalog, ["ovh-l4-90"], updates={"ovh-l4-90": {"stock": 0}})
    assert "stock" in conflict(plan(c, **BASE))


def test_front_configurations_break_no_family(catalog):
    from solver.schema.scenario import Scenario

    p = plan(catalog, base=BASE, users=200, max_tpot_ms=60, budget_per_hour=40)
    assert p.status == "ok"
    sc = Scenario(**{**BASE, "users": 200, "max_tpot_ms": 60, "budget_per_hour": 40})
    for o in p.options:
        assert violations(o, sc) == []
        assert o.perf.tpot_ms <= 60 and o.cost_per_hour <= 40


@pytest.mark.parametrize("field,value", [("users", 0), ("precision", "fp7"), ("objectives", ["cost", "cost"])])
def test_bad_scenarios_raise(field, value):
    from pydantic import ValidationError

    from solver.schema.scenario import Scenario

    with pytest.raises(ValidationError):
        Scenario(**{**BASE, field: value})


def test_front_names_the_unverified_engine_cell_it_relies_on(catalog):
    """A configuration resting on an engine cell no stored source states says so, and only then."""
    sc = dict(model="gpt-oss-120b", precision="fp4", users=16, input_tokens=1024, output_tokens=256, context_tokens=4096,
              allow_fallback_precision=True)
    trt = ok(plan(catalog, **sc, engine="tensorrt-llm"))
    assert all("engine.precision.fp4.nvidia_hopper" in c["unverified"] for c in trt.front if c["gpu"].startswith("h"))
    assert any(c["gpu"].startswith("h") for c in trt.front)
    vllm = ok(plan(catalog, **sc, engine="vllm"))
    assert not any(x.startswith("engine.") for c in vllm.front for x in c["unverified"])


def test_16_bit_kv_is_the_format_each_engine_keeps_on_each_gpu(catalog):
    """Ollama keeps an f16 cache and has no bf16 one: the default "16-bit KV" must not make it infeasible;
    the independent validator recomputes the format and rejects a configuration that reports another."""
    from solver.plan.validate import validate_config
    from solver.predict.compat import kv_precision_for
    from solver.schema.precision import Precision as P
    from solver.schema.scenario import Scenario

    ollama, vllm = catalog.engine("ollama"), catalog.engine("vllm")
    l40s, v100 = catalog.gpu("l40s"), catalog.gpu("v100s")
    assert kv_precision_for(ollama, l40s, P.int4, None) == P.fp16
    assert kv_precision_for(vllm, l40s, P.int4, None) == P.bf16
    assert kv_precision_for(vllm, l40s, P.fp16, None) == P.fp16
    assert kv_precision_for(vllm, v100, P.int4, None) == P.fp16  # no bf16 on Volta
    assert kv_precision_for(vllm, l40s, P.int4, P.fp8) == P.fp8  # asked for: kept (the check may then reject it)
    sc = dict(model="llama-3.1-8b", users=8, engine="ollama", precision="int4")
    p = ok(plan(catalog, **sc))
    assert {c["kv_precision"] for c in p.front} == {"fp16"}
    c = p.front[0]
    scenario, model = Scenario(**sc), catalog.model("llama-3.1-8b")
    assert validate_config(c, scenario, catalog, model) == []
    assert any("KV cache bf16" in x for x in validate_config({**c, "kv_precision": "bf16"}, scenario, catalog, model))
