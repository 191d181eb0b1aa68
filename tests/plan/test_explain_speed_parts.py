"""The parts the planner's speed rests on, each against a slow, obviously right oracle:
the closed-form prefill share against bisection, the explanation's minimum conflict against
enumerating every family subset, the block-wise dominance skyline against pairwise comparison, and
candidate screening against no screening."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from solver.plan.dominance import skyline
from solver.plan.explain import min_conflict
from solver.plan.families import FAMILIES
from solver.predict.speed import MAX_RHO, _prefill_share

NAMES = [f.name for f in FAMILIES]
pos = st.floats(min_value=1e-5, max_value=10.0, allow_nan=False)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(n=pos, t_service=pos, latency=st.floats(0, 1), wait0=st.floats(0, 5), o1=st.integers(0, 4000), step0=pos)
def test_prefill_share_solves_the_fixed_point(n, t_service, latency, wait0, o1, step0):
    t_prefill = t_service + latency  # a request's own prefill time; others wait only for the GPUs' part

    def cycle(r: float) -> float:  # prefill time-shares the GPUs: a decode step stretches to step0 / (1 - r)
        return t_prefill + t_service * r / (2 * (1 - r)) + wait0 + o1 * step0 / (1 - r)

    def g(r: float) -> float:
        return n / cycle(r) - r

    rho = _prefill_share(n, t_prefill, t_service, wait0, o1, step0)
    if g(MAX_RHO) >= 0:
        assert rho >= MAX_RHO  # saturated: the caller caps rho at MAX_RHO
        return
    lo, hi = 0.0, MAX_RHO  # bisection oracle: g decreases from g(0) > 0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if g(mid) > 0 else (lo, mid)
    assert abs(rho - lo) <= 1e-9 * max(1.0, lo)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.frozensets(st.sampled_from(NAMES[:7]), min_size=1, max_size=4), min_size=1, max_size=12))
def test_min_conflict_is_a_smallest_hitting_set(sets):
    core = min_conflict(set(sets))
    assert all(set(core) & s for s in sets)  # every configuration breaks a family of the conflict
    smallest = next(k for k in range(1, 8) if any(all(set(c) & s for s in sets) for c in itertools.combinations(NAMES[:7], k)))
    assert len(core) == smallest


def test_min_conflict_prefers_the_earlier_family_on_ties():
    assert min_conflict({frozenset({"budget", "tpot_target"})}) == ["tpot_target"]
    assert min_conflict({frozenset({"budget"}), frozenset({"budget", "vram_fit"})}) == ["budget"]


def test_screening_skips_only_configurations_that_miss_a_target(catalog):
    from solver.plan.candidates import enumerate_candidates
    from solver.plan.families import violations
    from solver.plan.planner import prepare
    from solver.schema.scenario import Scenario

    sc, model, _ = prepare(Scenario(model="llama-3.1-8b", users=500, input_tokens=2000, output_tokens=256,
                                    min_tokens_per_s_per_user=40, max_ttft_ms=2000), catalog)
    full = enumerate_candidates(sc, catalog, model, select="feasible", screen=False)
    screened = enumerate_candidates(sc, catalog, model, select="feasible")
    assert screened.screened_counts + screened.screened_shapes > 0 and len(screened.options) < len(full.options)
    kept = {(o.shape.key, o.replicas) for o in screened.options}
    dropped = [o for o in full.options if (o.shape.key, o.replicas) not in kept]
    assert dropped
    service = {"per_user_speed", "ttft_target"}
    assert all({n for n, _ in violations(o, sc)} & service for o in dropped)
    # what the enumeration skips is recorded by what it breaks: a service target, or VRAM fit / the
    # engine's running cap (fewer replicas than they allow are never built, screening or not)
    assert all(b & (service | {"vram_fit", "users_served"}) for b in screened.blocked)
    assert any(b & service for b in screened.blocked)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(rows=st.integers(2, 3).flatmap(lambda k: st.lists(st.lists(st.integers(-3, 3), min_size=k, max_size=k),
                                                           min_size=1, max_size=150)),
       block=st.sampled_from([1, 2, 7, 32]))
def test_skyline_keeps_exactly_the_rows_nothing_makes_redundant(rows, block):
    import numpy as np

    def covers(i: int, j: int) -> bool:  # row i makes row j redundant: as good everywhere, and better or first
        return all(a <= b for a, b in zip(rows[i], rows[j], strict=True)) and (rows[i] != rows[j] or i < j)

    expected = [j for j in range(len(rows)) if not any(covers(i, j) for i in range(len(rows)) if i != j)]
    assert skyline(np.array(rows, dtype=np.int64), block=block).tolist() == expected


@settings(max_examples=200, deadline=None, derandomize=True)
@given(vals=st.lists(st.lists(st.integers(-1000, 1000), min_size=3, max_size=3), min_size=1, max_size=40))
def test_pareto_weights_are_lexicographic(vals):
    from solver.plan.pareto import _weights

    w = _weights(vals)
    score = lambda v: sum(a * x for a, x in zip(w, v, strict=True))  # noqa: E731
    for a in vals:
        for b in vals:
            if a < b:  # lexicographically smaller: a strictly smaller weighted sum
                assert score(a) < score(b)


def test_pareto_weights_fall_back_to_a_plain_sum_on_overflow():
    from solver.plan.pareto import _weights

    assert _weights([[0, 0, 0], [1, 2**40, 2**40]]) == [1, 1, 1]
    assert _weights([[0, 0], [1, 5]]) == [6, 1]
