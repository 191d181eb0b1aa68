"""Property: on random scenarios over random sub-catalogs, the CP-SAT front equals the brute-force
front (objective vectors), and every returned configuration passes the validator."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from solver.plan.bruteforce import front_vectors, vector
from solver.plan.candidates import enumerate_candidates
from solver.plan.families import FAMILIES, violations
from solver.plan.planner import prepare, solve
from solver.plan.validate import validate_config
from solver.schema.scenario import Scenario
from tests.helpers import sub_catalog

MODELS = ["llama-3.2-1b", "llama-3.1-8b", "qwen3-8b", "mistral-7b-v0.3", "gemma-3-4b", "qwen3-30b-a3b", "gpt-oss-20b",
          "llama-3.3-70b", "mixtral-8x7b", "qwen3-32b"]
SERVERS = ["ovh-l4-90", "ovh-l4-180", "ovh-l4-360", "ovh-l40s-90", "ovh-l40s-360", "ovh-a10-45", "ovh-a100-180",
           "ovh-a100-720", "ovh-h100-380", "ovh-h100-1520", "ovh-h200-1920", "ovh-us-t2-45", "aws-p5.48xlarge",
           "coreweave-l40s-8", "runpod-h100-pcie-1", "tensorwave-mi300x-1", "hgx-h100-8gpu", "dgx-h100", "gaudi3-8card"]
ENGINES = ["vllm", "sglang", "tensorrt-llm", "tgi", "ollama", "llama.cpp", "lmdeploy"]


@st.composite
def cases(draw):
    servers = draw(st.lists(st.sampled_from(SERVERS), min_size=2, max_size=7, unique=True))
    engines = draw(st.lists(st.sampled_from(ENGINES), min_size=1, max_size=3, unique=True))
    stock = {s: {"stock": draw(st.integers(0, 6))} for s in servers if draw(st.booleans()) and draw(st.booleans())}
    ctx = draw(st.sampled_from([2048, 8192, 32768]))
    out = draw(st.sampled_from([64, 256, 1024]))
    inp = draw(st.integers(16, ctx - out))
    objectives = draw(st.sampled_from([["cost", "throughput"], ["cost", "throughput", "latency"], ["cost"],
                                       ["throughput"], ["latency"], ["throughput", "latency"], ["cost", "latency"]]))
    fields = dict(
        model=draw(st.sampled_from(MODELS)), context_tokens=ctx, input_tokens=inp, output_tokens=out,
        precision=draw(st.sampled_from(["bf16", "bf16", "fp16", "fp8", "fp8", "int4", "fp4"])),
        users=draw(st.sampled_from([1, 2, 5, 16, 50, 200, 1000])),
        currency=draw(st.sampled_from(["EUR", "USD"])),
        objectives=objectives,
        cost_unit=draw(st.sampled_from(["per_hour", "per_month", "per_million_tokens"])),
        latency_metric=draw(st.sampled_from(["tpot", "ttft"])),
        allow_fallback_precision=draw(st.booleans()),
        allow_multi_server=draw(st.booleans()),
        max_servers=draw(st.sampled_from([2, 8, 64, 512])),
    )
    if draw(st.integers(0, 2)) == 0:
        fields["max_tpot_ms"] = draw(st.sampled_from([20.0, 50.0, 150.0]))
    if draw(st.integers(0, 2)) == 0:
        fields["max_ttft_ms"] = draw(st.sampled_from([500.0, 3000.0, 20000.0]))
    if draw(st.integers(0, 2)) == 0:
        fields["min_tokens_per_s_per_user"] = draw(st.sampled_from([5.0, 20.0]))
    if draw(st.integers(0, 2)) == 0:
        fields["min_total_tokens_per_s"] = draw(st.sampled_from([100.0, 2000.0]))
    if draw(st.integers(0, 2)) == 0:
        fields["budget_per_hour"] = draw(st.sampled_from([1.0, 10.0, 60.0, 500.0]))
    if draw(st.booleans()):
        fields.update(load="bursty", peak_factor=draw(st.sampled_from([1.5, 3.0])))
    if draw(st.integers(0, 3)) == 0:
        fields["allowed_vendors"] = draw(st.sampled_from([["nvidia"], ["amd", "intel"]]))
    return servers, engines, stock, fields


def cpsat_core(options, sc) -> list[str]:
    from solver.plan.cpsat_model import PlanModel

    shapes = list({id(o.shape): o.shape for o in options}.values())
    pm = PlanModel(shapes, options, sc, explain=True)
    solver = pm.solver()
    assert solver.Solve(pm.model) == pm.cp.INFEASIBLE
    names = {lit.Index(): n for n, lit in pm.v.lits.items()}
    return sorted(names[i] for i in solver.SufficientAssumptionsForInfeasibility() if i in names)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case=cases())
def test_cpsat_front_equals_brute_force(catalog, case):
    servers, engines, stock, fields = case
    cat = sub_catalog(catalog, servers, engines, stock)
    sc = Scenario(**fields, full_front=True)
    plan = solve(sc, cat)
    prepared, model, _ = prepare(sc, cat)
    everything = enumerate_candidates(prepared, cat, model, screen=False).options  # the oracle sees every option
    expected = front_vectors(everything, prepared)
    got = {vector(o, prepared, list(prepared.objectives)) for o in plan.options}
    event(f"status={plan.status} front={min(len(plan.front), 5)}")
    assert got == expected, (fields, servers, engines)
    assert len(plan.options) == len(got)  # one configuration per objective vector
    if plan.status == "infeasible":
        assert not expected and plan.explanation["message"]
        broken = [{n for n, _ in violations(o, prepared)} for o in everything]
        # the explanation's conflict is a true one inside the scope: every configuration on allowed,
        # priced hardware breaks one of its families
        names = {f.name for f in FAMILIES if f.label in plan.explanation["conflict"]}
        in_scope = [b for b in broken if not b & {"allowed_hardware", "price_known"}]
        assert not names or all(b & names for b in in_scope), plan.explanation
        # and the families' CP-SAT encodings agree: with every family as an assumption the model is
        # infeasible, and the core CP-SAT names covers every configuration
        if everything:
            core = set(cpsat_core(everything, prepared))  # one solve: the core does not depend on the configuration
            assert all(b & core for b in broken)
    for c in plan.front:
        assert validate_config(c, prepared, cat, model) == []
