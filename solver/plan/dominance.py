"""Exact reduction before the model: drop options that another option dominates on everything.

Option A makes option B redundant when A is at least as good on every quantity a constraint family,
an objective or a single objective's tie-breakers read (VRAM excess, users served, servers, stock
slack, TPOT, TTFT, per-user speed, total throughput, cost): then A is feasible whenever B is and scores at least as well, so B is never
needed on the front.  Among identical vectors the first option is kept (one configuration per
objective vector).  CP-SAT's presolve finds the same dominations ('domination: in exactly one') but
on every solve of the Pareto loop; doing it once here keeps each solve small.
"""

from __future__ import annotations

from solver.plan.families import (
    capacity,
    cost_int,
    needs_price,
    per_user_int,
    tpot_int,
    tput_int,
    ttft_int,
    vram_excess_int,
)
from solver.plan.options import Option
from solver.plan.scaling import COST_SCALE, HOURS_PER_MONTH, LAT_SCALE, TPUT_SCALE
from solver.schema.scenario import Scenario

BIG = 10**15
PEEL_ROUNDS = 3


def metric_rows(options: list[Option], sc: Scenario) -> list[list[int]]:
    """One row per option, every column 'smaller is better'."""
    read = front_columns(sc)  # the objectives and, for a single one, its tie-breakers
    lat_tpot = "latency" in read and sc.latency_metric == "tpot"
    lat_ttft = "latency" in read and sc.latency_metric == "ttft"
    rows = []
    for o in options:
        st = o.shape.server.stock
        r = [vram_excess_int(o), -capacity(o), o.servers, -(st - o.servers) if st is not None else -BIG]
        if sc.max_tpot_ms is not None or lat_tpot:
            r.append(tpot_int(o))
        if sc.max_ttft_ms is not None or lat_ttft:
            r.append(ttft_int(o))
        if sc.min_tokens_per_s_per_user is not None:
            r.append(-per_user_int(o))
        if sc.min_total_tokens_per_s is not None or "throughput" in read:
            r.append(-tput_int(o))
        if needs_price(sc):
            c = cost_int(o, sc.cost_unit)
            r.append(BIG if c is None else c)
            if sc.cost_unit != "per_hour" and sc.budget_per_hour is not None:
                c = cost_int(o, "per_hour")
                r.append(BIG if c is None else c)
        rows.append(r)
    return rows


def prune_dominated(options: list[Option], sc: Scenario) -> list[Option]:
    """The options no other option makes redundant (see the module docstring), in input order."""
    if len(options) < 2:
        return list(options)
    import numpy as np

    kept = skyline(np.array(metric_rows(options, sc), dtype=np.int64))
    return [options[i] for i in kept]


def skyline(m, block: int = 32):
    """Indices (ascending) of the rows of `m` that no other row is at least as good as everywhere
    (smaller is better); of identical rows the first is kept.

    Rows are visited in lexicographic order, where a dominator comes before what it dominates.  A row
    is dropped when an earlier row is at least as good everywhere; that row is then dominated by a kept
    one too (domination is transitive), so each block of rows is compared, in numpy, with the rows kept
    from earlier blocks and with the earlier rows of its own block.  With two columns a sweep suffices:
    a row survives iff its second column is below every earlier row's."""
    import numpy as np

    n = len(m)
    order = np.lexsort(m.T[::-1])  # by column 0, then 1, ...; stable, so equal rows keep input order
    if m.shape[1] == 2 and n:  # two columns: in that order a row survives iff its second column beats every earlier row's
        second = m[order, 1]
        best_before = np.minimum.accumulate(np.concatenate(([np.iinfo(np.int64).max], second[:-1])))
        return np.sort(order[second < best_before])
    rows = m[order]
    keep = np.zeros(n, dtype=bool)
    kept = rows[:0]
    for a in range(0, n, block):
        blk = rows[a:a + block]
        ge = (blk[:, None, :] <= blk[None, :, :]).all(axis=2)  # ge[i, j]: row i at least as good as row j
        dropped = np.triu(ge, 1).any(axis=0)  # by an earlier row of the block
        if len(kept):
            dropped |= (kept[None, :, :] <= blk[:, None, :]).all(axis=2).any(axis=1)
        keep[a:a + block] = ~dropped
        kept = np.concatenate([kept, blk[~dropped]])
    return np.sort(order[keep])


def front_columns(sc: Scenario) -> list[str]:
    """The objective values (cpsat_model.objective_values) a front or a lexicographic answer reads:
    the objectives, and for a single objective every tie-breaker after it."""
    cols = list(sc.objectives)
    if len(cols) == 1:  # pareto._lexicographic's order: unpriced options would tie-break as free, so no cost then
        cols += [c for c in ("cost", "throughput", "latency") if c not in cols and (c != "cost" or needs_price(sc))]
    return cols


def prune_for_front(options: list[Option], sc: Scenario) -> list[Option]:
    """The options the front can need (front_candidates, without its feasibility flag)."""
    return front_candidates(options, sc)[0]


def front_candidates(options: list[Option], sc: Scenario) -> tuple[list[Option], bool]:
    """(the options the front can need, whether any option is feasible): an option another *feasible* option is at least as good as on
    every objective (and tie-breaker) can be neither on the front nor the lexicographic answer, whether
    it is feasible or not, so it is dropped; infeasible options nothing feasible dominates stay for
    the model's constraints to reject.  Exact; feasibility is the families' Python rule (violations).
    Among feasible options with identical objective values the first is kept.

    Feasibility is checked only where it decides: the skyline of all options is taken, its infeasible
    members are set aside and the skyline of the rest taken again, until every member is feasible
    (every other remaining option is then dominated by a feasible one) — PEEL_ROUNDS times at most,
    then every remaining option is checked."""
    from solver.plan.families import active_families, breaks_any

    active = active_families(sc)
    if len(options) < 2:
        return list(options), any(not breaks_any(o, sc, active) for o in options)
    import numpy as np

    rows = objective_rows(options, sc)
    remaining = np.arange(len(options))
    infeasible: list[int] = []
    for _ in range(PEEL_ROUNDS):
        sky = remaining[skyline(rows[remaining])] if len(remaining) else remaining
        bad = [int(i) for i in sky if breaks_any(options[i], sc, active)]
        if not bad:
            break
        infeasible += bad
        remaining = np.setdiff1d(remaining, bad, assume_unique=True)
    else:  # many infeasible options on top (an infeasible scenario, most often): check the rest at once
        bad = [int(i) for i in remaining if breaks_any(options[i], sc, active)]
        infeasible += bad
        remaining = np.setdiff1d(remaining, bad, assume_unique=True)
    best = remaining[skyline(rows[remaining])] if len(remaining) else remaining
    keep = set(best.tolist())
    if infeasible:
        bad = np.array(infeasible)
        if len(best):  # an infeasible option stays unless a feasible one is at least as good everywhere
            covered = (rows[best][None, :, :] <= rows[bad][:, None, :]).all(axis=2).any(axis=1)
            bad = bad[~covered]
        keep.update(bad.tolist())
    return [options[i] for i in sorted(keep)], len(best) > 0


def objective_rows(options: list[Option], sc: Scenario):
    """front_columns of every option in minimisation form (cpsat_model.objective_values, vectorised:
    a batch reads millions of them)."""
    import numpy as np

    from solver.plan.cpsat_model import objective_values
    from solver.plan.pareto import SENSE

    cols = front_columns(sc)
    if sc.cost_unit == "per_million_tokens":
        return np.array([[SENSE[c] * objective_values(o, sc)[c] for c in cols] for o in options], dtype=np.int64)
    price = np.array([0 if o.shape.price_per_hour is None else round(o.shape.price_per_hour * COST_SCALE) for o in options],
                     dtype=np.int64)
    cost = price * np.array([o.servers for o in options], dtype=np.int64) * (HOURS_PER_MONTH if sc.cost_unit == "per_month" else 1)
    tput = np.rint(np.array([o.total_tokens_per_s for o in options]) * TPUT_SCALE).astype(np.int64)
    lat = np.rint(np.array([o.perf.tpot_ms if sc.latency_metric == "tpot" else o.perf.ttft_ms for o in options])
                  * LAT_SCALE).astype(np.int64)
    column = {"cost": cost, "throughput": -tput, "latency": lat}
    return np.stack([column[c] for c in cols], axis=1)
