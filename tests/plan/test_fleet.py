"""The fleet planner: each constraint family feasible and infeasible, the CP-SAT front against the
brute-force oracle on small instances, properties (more stock or budget never costs more; a
one-workload portfolio without mixing equals `solve --objective cost`), and the validator."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.plan import fleet_bruteforce
from solver.plan.fleet import plan_fleet, solve_problem
from solver.plan.fleet_families import fleet_violations
from solver.plan.fleet_model import FleetModel
from solver.plan.fleet_problem import FleetProblem, Workload, make_skus
from solver.plan.fleet_validate import validate_fleet
from solver.plan.planner import prepare, solve
from solver.plan.pools import evaluate_pool, workload_pools
from solver.plan.scaling import COST_SCALE
from solver.schema.inventory import Holding, Inventory
from solver.schema.scenario import Scenario
from tests.helpers import sub_catalog

SERVERS = ["ovh-l40s-90", "ovh-l40s-180", "ovh-h100-380", "ovh-h100-760"]
TEMPLATES = [  # small enough for the oracle; targets tight enough that a replica carries fewer than all users
    {"model": "llama-3.1-8b", "users": 6, "precision": "fp8", "min_tokens_per_s_per_user": 120},
    {"model": "llama-3.1-8b", "users": 5, "precision": "bf16", "context_tokens": 32768, "max_ttft_ms": 1500},
    {"model": "qwen3-8b", "users": 4, "precision": "fp8", "min_tokens_per_s_per_user": 130},
    {"model": "llama-3.3-70b", "users": 4, "precision": "fp8", "min_tokens_per_s_per_user": 28},
    {"model": "llama-3.1-8b", "users": 5, "precision": "fp8", "min_total_tokens_per_s": 900},
]


@pytest.fixture(scope="module")
def small(catalog):
    return sub_catalog(catalog, SERVERS, ["vllm", "sglang", "tensorrt-llm"])


_POOLS: dict = {}


def _pools(cat_id: int, i: int, cat):
    """A template's pools, evaluated once per catalog object."""
    if (cat_id, i) not in _POOLS:
        sc, model, _ = prepare(Scenario(**TEMPLATES[i]), cat)
        _POOLS[cat_id, i] = workload_pools(sc, cat, model)
    return _POOLS[cat_id, i]


def problem(cat, picks: list[int], inventory: Inventory | None = None, max_shapes: int = 2) -> FleetProblem:
    wls = [Workload(n, f"w{n}-{i}", _pools(id(cat), i, cat)) for n, i in enumerate(picks)]
    return FleetProblem(wls, make_skus(wls, cat, inventory, "EUR"), "EUR", inventory.budget if inventory else None,
                        inventory.power_limit_kw if inventory else None, max_shapes)


def solve_min(p: FleetProblem):
    ans, st_ = FleetModel(p, require_all=True).solve_point(time_limit_s=30)
    return ans, st_


# ------------------------------------------------------------------------------ families, each both ways
def test_capacity_is_the_largest_load_meeting_the_targets(small):
    wp = _pools(id(small), 3, small)
    assert wp.pools
    for ps in wp.pools:
        perf = wp.perf(ps.shape, small)
        assert perf(ps.capacity).per_user_tokens_per_s >= 28
        if ps.capacity < min(wp.scenario.peak_users, ps.shape.max_users_memory):
            assert perf(ps.capacity + 1).per_user_tokens_per_s < 28
    assert any(ps.capacity < wp.scenario.peak_users for ps in wp.pools)  # the test means something


def test_packing_shares_a_server_between_workloads(small):
    inv = Inventory(servers=[Holding(server="ovh-h100-380", stock=0), Holding(server="ovh-l40s-90", stock=0),
                             Holding(server="ovh-l40s-180", stock=0)])
    p = problem(small, [0, 2], inv)  # only 2-GPU H100 servers: one replica each must share one server
    ans, _ = solve_min(p)
    assert ans is not None and ans.servers("ovh-h100-760") == 1
    assert not fleet_violations(ans, p)
    bad = replace(ans, new={"ovh-h100-760": 0})
    assert any(v.startswith("packing") for v in fleet_violations(bad, p))


def test_stock_limits_new_servers_and_owned_ones_are_used_first(small):
    p = problem(small, [3], Inventory(servers=[Holding(server=s, stock=0) for s in SERVERS]))
    assert solve_min(p)[0] is None  # nothing may be had
    inv = Inventory(servers=[*(Holding(server=s, stock=0) for s in SERVERS if s != "ovh-h100-760"),
                             Holding(server="ovh-h100-760", owned=2, stock=0)])
    p = problem(small, [3], inv)
    ans, _ = solve_min(p)
    assert ans is not None and ans.new == {} and ans.cost_int(p) == 0
    assert any(v.startswith("holdings") for v in fleet_violations(replace(ans, owned_used={"ovh-h100-760": 3}), p))


def test_budget_and_power_limit_the_fleet(small):
    free, _ = solve_min(problem(small, [0, 1]))
    cost = free.cost_int(problem(small, [0, 1])) / COST_SCALE
    assert solve_min(problem(small, [0, 1], Inventory(budget_per_hour=cost)))[0] is not None
    assert solve_min(problem(small, [0, 1], Inventory(budget_per_hour=cost - 0.01)))[0] is None
    p = problem(small, [0, 1])
    kw = sum(p.skus[s].power_kw * free.servers(s) for s in p.skus)
    assert solve_min(problem(small, [0, 1], Inventory(power_limit_kw=kw)))[0] is not None
    assert solve_min(problem(small, [0, 1], Inventory(power_limit_kw=kw * 0.5)))[0] is None


def test_shape_limit_and_coverage(small):
    p = problem(small, [0], max_shapes=1)
    ans, _ = solve_min(p)
    assert ans is not None and len(ans.pools[0]) == 1
    two = replace(ans, pools=[[*ans.pools[0], replace(ans.pools[0][0], shape=(ans.pools[0][0].shape + 1) % len(p.workloads[0].shapes))]])
    assert any(v.startswith("shape_limit") for v in fleet_violations(two, p))
    short = replace(ans, pools=[[replace(ans.pools[0][0], users=ans.pools[0][0].users - 1)]])
    assert any(v.startswith("coverage") for v in fleet_violations(short, p))


def test_workload_limits(small):
    wp = _pools(id(small), 3, small)
    tight = replace(wp, scenario=wp.scenario.model_copy(update={"max_servers": 1, "users": 3}))
    p = FleetProblem([Workload(0, "w", tight)], make_skus([Workload(0, "w", tight)], small, None, "EUR"), "EUR", None, None, 2)
    ans, _ = solve_min(p)
    assert ans is not None and not fleet_violations(ans, p)
    broke = replace(wp, scenario=wp.scenario.model_copy(update={"budget_per_hour": 0.5}))
    p = FleetProblem([Workload(0, "w", broke)], make_skus([Workload(0, "w", broke)], small, None, "EUR"), "EUR", None, None, 2)
    assert solve_min(p)[0] is None


def test_unserved_workloads_are_named_and_the_rest_planned(small):
    inv = Inventory(servers=[Holding(server=s, stock=0, owned=int(s == "ovh-h100-380")) for s in SERVERS])
    fp = plan_fleet([("a", Scenario(**TEMPLATES[0])), ("big", Scenario(**TEMPLATES[3]))], small, inv)
    status = {w["id"]: w["status"] for w in fp.workloads}
    assert fp.status == "partial" and status == {"a": "served", "big": "not served"}
    assert "big" in fp.front[0]["not_served"]


# ------------------------------------------------------------------------------------- the oracle
@st.composite
def instances(draw):
    picks = draw(st.lists(st.integers(0, len(TEMPLATES) - 1), min_size=1, max_size=3))
    holdings = []
    for s in SERVERS:
        if draw(st.booleans()):
            holdings.append(Holding(server=s, owned=draw(st.integers(0, 2)), stock=draw(st.one_of(st.none(), st.integers(0, 3))),
                                    owned_cost_per_hour=draw(st.sampled_from([0.0, 0.5, 9.0]))))
    budget = draw(st.one_of(st.none(), st.sampled_from([3.0, 8.0, 20.0])))
    return picks, Inventory(servers=holdings, budget_per_hour=budget), draw(st.integers(1, 2))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=instances())
def test_cpsat_front_equals_the_brute_force_front(small, case):
    picks, inv, max_shapes = case
    p = problem(small, picks, inv, max_shapes)
    expected = fleet_bruteforce.front(p)
    points, _ = solve_problem(p, front_points=50, time_limit_s=30, workers=1)
    got = [(sum(wl.users for w, wl in enumerate(p.workloads) if a.served[w]), a.cost_int(p)) for a, _ in points]
    assert got == expected
    for a, _ in points:
        assert not fleet_violations(a, p)
    if points:
        assert validate_fleet(points[0][0], p, small) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=instances(), extra=st.sampled_from(["stock", "budget", "owned"]))
def test_more_stock_or_budget_never_costs_more(small, case, extra):
    picks, inv, max_shapes = case
    more = inv
    if extra == "budget":
        more = inv.model_copy(update={"budget_per_hour": None if inv.budget_per_hour is None else inv.budget_per_hour * 2})
    else:
        hs = [h.model_copy(update={"stock": None if h.stock is None else h.stock + 1} if extra == "stock" else {"owned": h.owned + 1})
              for h in inv.servers]
        more = inv.model_copy(update={"servers": hs})
    a, _ = solve_min(problem(small, picks, inv, max_shapes))
    b, _ = solve_min(problem(small, picks, more, max_shapes))
    if a is not None:
        assert b is not None
        assert b.cost_int(problem(small, picks, more, max_shapes)) <= a.cost_int(problem(small, picks, inv, max_shapes))


@pytest.mark.parametrize("fields", [
    {"model": "llama-3.1-8b", "users": 40, "precision": "fp8", "min_tokens_per_s_per_user": 25},
    {"model": "llama-3.3-70b", "users": 30, "precision": "fp8", "max_tpot_ms": 60, "max_ttft_ms": 4000},
    {"model": "qwen3-30b-a3b", "users": 64, "context_tokens": 16384, "load": "bursty", "peak_factor": 1.5},
])
def test_one_workload_without_mixing_equals_solve_cost(catalog, fields):
    sc = Scenario(**fields)
    single = solve(sc.model_copy(update={"objectives": ["cost"]}), catalog)
    fp = plan_fleet([("w", sc)], catalog, max_shapes=1, front_points=1, alone=False)
    assert single.status == "ok" and fp.status == "ok"
    assert fp.cost_per_hour == pytest.approx(single.front[0]["cost_per_hour"], abs=1e-6)


def test_pool_metrics_are_the_estimate_at_the_real_load(small):
    wp = _pools(id(small), 1, small)
    ps = wp.pools[0]
    e = evaluate_pool(2, 3, wp.perf(ps.shape, small))
    assert e.users_per_replica == 2
    assert e.total_tokens_per_s == pytest.approx(wp.perf(ps.shape, small)(2).output_tokens_per_s
                                                 + wp.perf(ps.shape, small)(1).output_tokens_per_s)


def test_the_validator_catches_a_wrong_capacity(small):
    p = problem(small, [0])
    ans, _ = solve_min(p)
    assert validate_fleet(ans, p, small) == []
    w = p.workloads[0]
    k = ans.pools[0][0].shape
    lied = replace(w.pools, pools=[replace(ps, capacity=ps.capacity * 50) if i == k else ps for i, ps in enumerate(w.pools.pools)],
                   scenario=w.pools.scenario.model_copy(update={"users": 60}))
    p2 = FleetProblem([Workload(0, w.id, lied)], p.skus, "EUR", None, None, 2)
    a2, _ = solve_min(p2)
    assert a2 is not None and validate_fleet(a2, p2, small)  # a capacity the estimate does not give is caught


# ------------------------------------------------------------------------------------ solve --mix
def test_mixed_pools_serve_what_one_shape_cannot_under_stock(catalog):
    from solver.plan.mix import solve_mix
    from solver.schema.catalog import load_catalog

    stock2 = load_catalog(("examples/variants/h100-stock-2.yaml",))
    sc = Scenario(model="llama-3.3-70b", users=100, precision="fp8", min_tokens_per_s_per_user=20, allowed_gpus=["H100"])
    assert solve(sc.model_copy(update={"objectives": ["cost"]}), stock2).status == "infeasible"
    res = solve_mix(sc, stock2)
    assert res["status"] == "ok" and res["front"][0]["mixed"]
    for pt in res["front"]:
        assert sum(x["users"] for x in pt["pools"]) == 100
        assert all(n <= 2 for n in pt["servers"].values())
        assert all(x["output_tokens_per_s_per_user"] >= 20 for x in pt["pools"])
    costs = [pt["cost_per_hour"] for pt in res["front"]]
    lat = [pt["tpot_ms"] for pt in res["front"]]
    assert costs == sorted(costs) and len(set(costs)) == len(costs)  # a front: more cost, strictly less latency
    assert lat == sorted(lat, reverse=True) and len(set(lat)) == len(lat)


def test_a_mix_never_costs_more_than_one_shape(catalog):
    from solver.plan.mix import solve_mix

    sc = Scenario(model="llama-3.1-8b", users=150, precision="fp8", min_tokens_per_s_per_user=30, max_ttft_ms=2000)
    res = solve_mix(sc, catalog, points=2)
    single = solve(sc.model_copy(update={"objectives": ["cost"]}), catalog)
    assert res["one_shape_cost_per_hour"] == pytest.approx(single.front[0]["cost_per_hour"], abs=1e-6)
    assert res["front"][0]["cost_per_hour"] <= res["one_shape_cost_per_hour"] + 1e-9
