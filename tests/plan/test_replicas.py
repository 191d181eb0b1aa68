"""Replica counts: the front is exact over every count (against an enumeration of every count, each
configuration evaluated by the estimate alone), throughput counts only the users that exist, and a
single objective keeps its tie-breakers."""

from __future__ import annotations

import math

import pytest

from solver.plan.candidates import enumerate_candidates
from solver.plan.families import violations
from solver.plan.options import Option, even_split
from solver.plan.planner import prepare, solve
from solver.predict.estimate import estimate
from solver.schema.scenario import Scenario
from tests.helpers import sub_catalog


def every_count(sc: Scenario, catalog, model) -> list[Option]:
    """Every shape the planner considers at every replica count 1..peak users, each evaluated by
    solver.predict.estimate at the loads its replicas carry: the oracle of the claim that one count
    per server count suffices."""
    shapes = {o.shape.key: o.shape for o in enumerate_candidates(sc, catalog, model, screen=False).options}
    out = []
    peak = sc.peak_users
    for shape in shapes.values():
        for r in range(1, peak + 1):
            high, low, extra = even_split(peak, r)
            args = (catalog, model, shape.gpu, shape.engine, sc.precision, shape.kv_precision, shape.tp, shape.pp,
                    sc.prompt_tokens, sc.output_tokens)
            busy = estimate(*args, high, sc.context_tokens, shape.server, sc.memory_rule, expert_parallel=shape.ep)
            if busy.perf is None:
                continue
            light = estimate(*args, low, sc.context_tokens, shape.server, sc.memory_rule, expert_parallel=shape.ep)
            total = extra * busy.perf.output_tokens_per_s + (r - extra) * light.perf.output_tokens_per_s
            out.append(Option(shape=shape, users_per_replica=high, replicas=r, servers=shape.servers_for(r),
                              kv_need_gib=busy.memory.kv_cache_gib, perf=busy.perf, total_tokens_per_s=total, users=peak))
    return out


def front(points: list[tuple[float, float]]) -> set[tuple[float, float]]:
    return {p for p in points if not any(q[0] <= p[0] and q[1] >= p[1] and q != p for q in points)}


@pytest.mark.parametrize("fields", [
    {"model": "llama-3.1-8b", "users": 13, "min_tokens_per_s_per_user": 30},
    {"model": "qwen3-8b", "users": 7, "precision": "fp8", "max_ttft_ms": 1500},
])
def test_the_front_is_exact_over_every_replica_count(catalog, fields):
    cat = sub_catalog(catalog, ["ovh-l4-90", "ovh-l40s-180", "ovh-h100-760"], ["vllm", "sglang"])
    sc, model, _ = prepare(Scenario(**fields, full_front=True), cat)
    plan = solve(sc, cat)
    got = {(round(c["cost_per_hour"], 4), round(c["output_tokens_per_s"], 2)) for c in plan.front}
    feasible = [o for o in every_count(sc, cat, model) if not violations(o, sc)]
    expected = front([(round(o.cost_per_hour, 4), round(o.total_tokens_per_s, 2)) for o in feasible])
    assert got == expected


def test_servers_hold_as_many_replicas_as_they_can(catalog):
    """The issue's example: 4 x ovh-h200-1920 held 7 SGLang TP4 replicas where 8 fit."""
    plan = solve(Scenario(model="llama-3.3-70b", users=50, precision="fp8", context_tokens=8192, max_tpot_ms=40,
                          max_ttft_ms=2000, full_front=True), catalog)
    assert plan.status == "ok"
    for c in plan.front:
        assert c["idle_gpus"] < c["gpus_per_replica"] or c["replicas"] == 50, c


def test_throughput_counts_only_the_users_that_exist(catalog):
    sc, model, _ = prepare(Scenario(model="llama-3.1-8b", users=3, allowed_servers=["ovh-h100-760"], engine="vllm",
                                    min_tokens_per_s_per_user=0, full_front=True), catalog)
    two = next(o for o in enumerate_candidates(sc, catalog, model).options if o.replicas == 2 and o.shape.tp == 1)
    assert even_split(3, 2) == (2, 1, 1) and two.users_per_replica == 2
    args = (catalog, model, two.shape.gpu, two.shape.engine, sc.precision, two.shape.kv_precision, 1, 1,
            sc.prompt_tokens, sc.output_tokens)
    t2, t1 = (estimate(*args, u, sc.context_tokens, two.shape.server).perf.output_tokens_per_s for u in (2, 1))
    assert two.total_tokens_per_s == pytest.approx(t2 + t1)  # one replica with 2 users, one with 1: not 2 x 2 users
    assert two.total_tokens_per_s < 2 * t2


def test_a_single_objective_keeps_its_tie_breakers(catalog):
    """`--objective cost` once returned an L40S at 2.80 EUR/h and 16.9 tokens/s where an H100 server
    cost the same and gave 32.3: the answer must not be beaten on throughput at its cost."""
    sc, model, _ = prepare(Scenario(model="llama-3.3-70b", users=1, precision="fp8", objectives=["cost"]), catalog)
    plan = solve(sc, catalog)
    best = plan.front[0]
    same_cost = [o for o in enumerate_candidates(sc, catalog, model, screen=False).options
                 if not violations(o, sc) and math.isclose(o.cost_per_hour, best["cost_per_hour"])]
    assert same_cost and max(o.total_tokens_per_s for o in same_cost) == pytest.approx(best["output_tokens_per_s"], abs=0.01)


def test_a_pricier_twin_server_changes_nothing(catalog):
    """The same machine from another provider at a higher price is skipped unevaluated (where cost
    counts), and the front is what it is without it; a cheaper twin with a stock limit is not skipped."""
    from solver.plan.candidates import pricier_twins
    from solver.schema.catalog import Catalog

    base = catalog.servers["ovh-h100-380"]
    twin = base.model_copy(update={"id": "zz-h100-twin", "provider": "zz",
                                   "price": base.price.model_copy(update={"amount_per_hour": base.price.amount_per_hour * 1.5})})
    cat = sub_catalog(catalog, ["ovh-h100-380", "ovh-l40s-90"])
    with_twin = Catalog(list(cat.gpus.values()), [*cat.servers.values(), twin], list(cat.engines.values()),
                        list(cat.models.values()), list(cat.calibration.values()), cat.files, [cat.pricing] if cat.pricing else None)
    sc = Scenario(model="llama-3.1-8b", users=20, precision="fp8", full_front=True)
    assert pricier_twins(with_twin, sc) == {"zz-h100-twin": "ovh-h100-380"}
    a, b = solve(sc, cat), solve(sc, with_twin)
    assert [(c["server"], c["replicas"], c["cost_per_hour"]) for c in a.front] == [(c["server"], c["replicas"], c["cost_per_hour"]) for c in b.front]
    assert any(p[0] == "zz-h100-twin" for p in enumerate_candidates(sc, with_twin, prepare(sc, with_twin)[1], select="feasible").presolved)
    limited = sub_catalog(with_twin, ["ovh-h100-380", "zz-h100-twin"], updates={"ovh-h100-380": {"stock": 1}})
    assert pricier_twins(limited, sc) == {}  # the cheaper one can run out
