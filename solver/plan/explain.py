"""Why nothing fits, in the user's terms, and the nearest relaxation that would make it fit.

Every configuration is one option (a shape with a replica count), and it is feasible exactly when it breaks
no constraint family.  So the requirements in conflict are a *hitting set*: a set of families such
that every configuration breaks at least one of them.  CP-SAT finds the smallest such set (ties go to
the family listed first in solver.plan.families) over the distinct violation sets of

- the planner's own options (hardware in scope, every shape-level family holding), with the
  configurations its screening skipped counted by what they provably break (Candidates.blocked);
- the shapes on in-scope hardware that a shape-level family forbids (fallback precision, engine
  features, multi-server), enumerated here.

Scope families (allowed hardware, a price in the scenario's currency) are the user's frame: the
conflict is found inside it, and a feasibility search outside it (stopping at the first success)
adds "fits on X, which is not allowed" and the scope family.  Local conflicts (nothing passes the
engine, precision and memory checks) come from the rejection reasons.  The nearest relaxation of
each family in the conflict is read off the options that break only it.
"""

from __future__ import annotations

from collections import Counter

from solver.plan.candidates import enumerate_candidates
from solver.plan.families import FAMILIES, active_families, broken_names, capacity, violations
from solver.plan.options import Candidates, Option
from solver.schema.catalog import Catalog
from solver.schema.llm import LlmModel
from solver.schema.precision import Precision
from solver.schema.scenario import Scenario

LABELS = {f.name: f.label for f in FAMILIES}
ORDER = {f.name: i for i, f in enumerate(FAMILIES)}
SCOPE = frozenset({"allowed_hardware", "price_known"})


def minimal_sets(sets: set[frozenset[str]]) -> list[frozenset[str]]:
    """The inclusion-minimal sets (a superset is hit whenever its subset is), in a fixed order."""
    ordered = sorted(sets, key=lambda x: (len(x), sorted(ORDER[n] for n in x)))
    out: list[frozenset[str]] = []
    for x in ordered:
        if not any(y <= x for y in out):
            out.append(x)
    return out


def min_conflict(sets: set[frozenset[str]]) -> list[str]:
    """The smallest set of families that every violation set meets (CP-SAT, one worker)."""
    from ortools.sat.python import cp_model

    sets_min = minimal_sets(sets)
    names = sorted({n for x in sets_min for n in x}, key=ORDER.__getitem__)
    if not names:
        return []
    m = cp_model.CpModel()
    x = {n: m.NewBoolVar(n) for n in names}
    for st in sets_min:
        m.AddBoolOr([x[n] for n in sorted(st, key=ORDER.__getitem__)])
    big = len(FAMILIES) + 1  # cardinality first, then the earlier families
    m.Minimize(sum((big * big + ORDER[n]) * x[n] for n in names))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    if solver.Solve(m) != cp_model.OPTIMAL:
        raise RuntimeError("CP-SAT did not prove the smallest conflict")
    return [n for n in names if solver.BooleanValue(x[n])]


def _search(sc: Scenario, catalog: Catalog, model: LlmModel, select: str, allowed: frozenset[str],
            memo: dict | None = None) -> Option | None:
    """The first option (catalog order) that breaks no family outside `allowed`, or None."""
    hit: list[Option] = []
    seen = 0
    active = active_families(sc)

    def stop(c: Candidates) -> bool:
        nonlocal seen
        for o in c.options[seen:]:
            if broken_names(o, sc, active) <= allowed:
                hit.append(o)
                return True
        seen = len(c.options)
        return False

    enumerate_candidates(sc, catalog, model, select=select, stop=stop, memo=memo)
    return hit[0] if hit else None


def _outside_scope(sc: Scenario, catalog: Catalog, model: LlmModel, memo: dict) -> tuple[list[str], str] | None:
    """Scope families whose relaxation alone would make the scenario feasible, with the suggestion:
    the smallest relaxation first (one scope family, then both)."""
    active = [f.name for f in FAMILIES if f.name in SCOPE and f.active(sc)]
    for allowed in [frozenset({n}) for n in active] + ([SCOPE] if len(active) > 1 else []):
        o = _search(sc, catalog, model, "out_of_scope", allowed, memo)
        if o is not None:
            break
    else:
        return None
    names = sorted({n for n, _ in violations(o, sc)}, key=ORDER.__getitem__)
    unpriced = f"has no {sc.currency} price: add prices with an overlay, or choose another currency"
    if names == ["price_known"]:
        return names, f"{o.shape.server.id} would fit but {unpriced}"
    where = f"fits on {o.shape.gpu.id} ({o.shape.server.id}), which is not allowed"
    return names, where + (f" and {unpriced}" if "price_known" in names else "")


def _relaxation(options: list[Option], single: list[Option], sc: Scenario, family: str,
                broken: list[frozenset[str]]) -> str | None:
    """The best option that breaks only `family`, described as what the user would have to accept.

    Screening skips the replica counts that miss a service target, so for those targets the options
    with one user per replica (`single`, each shape's fastest) are considered too."""
    pool = options + single if family in ("per_user_speed", "tpot_target", "ttft_target") else options
    active = active_families(sc)
    pool_broken = broken + [broken_names(o, sc, active) for o in pool[len(options):]]
    only = [o for o, b in zip(pool, pool_broken, strict=True) if b == {family}]
    if not only:
        return None
    cur = sc.currency
    if family == "budget":
        o = min(only, key=lambda o: o.cost_per_hour)
        return f"needs at least {o.cost_per_hour:.2f} {cur}/h ({o.servers}x {o.shape.server.id}); the budget is {sc.budget_per_hour:g}"
    if family == "per_user_speed":
        o = max(only, key=lambda o: o.perf.per_user_tokens_per_s)
        return (f"{sc.min_tokens_per_s_per_user:g} tokens/s per user exceeds the fastest option's "
                f"{o.perf.per_user_tokens_per_s:.1f} at {sc.precision.value} ({o.shape.gpu.id}, TP{o.shape.tp})")
    if family == "tpot_target":
        o = min(only, key=lambda o: o.perf.tpot_ms)
        return f"the fastest option reaches a TPOT of {o.perf.tpot_ms:.1f} ms ({o.shape.gpu.id}, TP{o.shape.tp}); the target is {sc.max_tpot_ms:g} ms"
    if family == "ttft_target":
        o = min(only, key=lambda o: o.perf.ttft_ms)
        return f"the quickest option reaches a TTFT of {o.perf.ttft_ms:.0f} ms ({o.shape.gpu.id}); the target is {sc.max_ttft_ms:g} ms"
    if family == "total_throughput":
        o = max(only, key=lambda o: o.total_tokens_per_s)
        return f"at most {o.total_tokens_per_s:.0f} output tokens/s within the other limits; the target is {sc.min_total_tokens_per_s:g}"
    if family == "max_servers":
        o = min(only, key=lambda o: o.servers)
        return f"needs {o.servers} servers ({o.shape.server.id}); allow max_servers >= {o.servers}"
    if family == "multi_server":
        o = min(only, key=lambda o: o.servers)
        return f"needs {o.shape.servers_per_replica} servers per replica ({o.shape.server.id}): allow multi-server"
    if family == "precision_support":
        gpus = sorted({o.shape.gpu.id for o in only})
        return f"fits on {', '.join(gpus[:4])} through a {sc.precision.value} fallback: allow fallback precision"
    if family == "vram_fit":
        o = max(only, key=lambda o: capacity(o))
        return f"memory holds too few users per replica ({o.shape.max_users_memory} on {o.shape.gpu.id})"
    if family == "engine_features":
        return only[0].shape.feature_problem
    if family == "stock":
        o = min(only, key=lambda o: o.servers)
        return f"needs {o.servers}x {o.shape.server.id}, more than in stock"
    return None


def _allowed_rejections(cands: Candidates, sc: Scenario, catalog: Catalog) -> list[str]:
    """Why the hardware the user allowed was rejected before the model (engine, precision, memory)."""
    from solver.plan.families import AllowedHardware

    if not AllowedHardware("allowed_hardware", "").active(sc):
        return []
    allowed_servers = {s.id for s in catalog.servers.values()
                       if AllowedHardware.hardware_problem(catalog.gpus[s.gpu], s, sc) is None}
    counts = Counter(reason for desc, reason in cands.rejections if desc.split(" / ")[0] in allowed_servers)
    return [f"allowed hardware: {r} ({n}x)" for r, n in counts.most_common(5)]


def _precision_alternatives(sc: Scenario, catalog: Catalog, model: LlmModel) -> list[str]:
    """The first lower precision under which a configuration exists ('fits with FP8')."""
    for p in (Precision.fp8, Precision.int8, Precision.int4, Precision.fp4):
        if p == sc.precision:
            continue
        alt = sc.model_copy(update={"precision": p, "kv_precision": sc.kv_precision})
        if _search(alt, catalog, model, "feasible", frozenset()) is not None:
            return [f"fits with {p.value.upper()} weights"]
    return []


def explain(cands: Candidates, sc: Scenario, catalog: Catalog, model: LlmModel, memo: dict | None = None) -> dict:
    """Explain an infeasible scenario; `cands` is the planner's enumeration (select='feasible'), `memo`
    its memory and speed evaluations (enumerate_candidates), reused by the enumerations here."""
    memo = {} if memo is None else memo
    rest = enumerate_candidates(sc, catalog, model, select="in_scope_rest", memo=memo)
    options = cands.options + rest.options
    single = cands.single_user + rest.single_user
    active = active_families(sc)
    broken = [broken_names(o, sc, active) for o in options]
    sets = set(broken) | cands.blocked | rest.blocked
    result: dict = {"conflict": [], "reasons": [], "suggestions": []}
    core = min_conflict(sets) if sets else []
    outside = _outside_scope(sc, catalog, model, memo) if any(f.active(sc) for f in FAMILIES if f.name in SCOPE) else None
    if not sets:
        rejections = sorted(set(cands.rejections) | set(rest.rejections))
        counts = Counter(reason for _, reason in rejections)
        result["reasons"] = _allowed_rejections(cands, sc, catalog) + [f"{n} candidate(s): {r}" for r, n in counts.most_common(6)]
        if outside is None:
            result["conflict"] = ["no candidate survives the local checks (engine x hardware, precision, parallelism, memory)"]
    else:
        for n in core:
            r = _relaxation(options, single, sc, n, broken)
            if r:
                result["suggestions"].append(r)
        # reasons per family over the evaluated options, for the user's overview
        per_family = Counter(n for b in broken for n in b)  # b is a frozenset: its order varies by process
        ranked = sorted(per_family.items(), key=lambda nk: (-nk[1], ORDER[nk[0]]))
        result["reasons"] = [f"{LABELS[n]}: breaks {k} of {len(options)} evaluated options" for n, k in ranked]
        shapes, counts = cands.screened_shapes + rest.screened_shapes, cands.screened_counts + rest.screened_counts
        if shapes or counts:
            result["reasons"].append(f"not evaluated, as they miss a service target: {shapes} shape(s) even with one user "
                                     f"per replica, {counts} smaller replica count(s)")
    result["conflict"] += [LABELS[n] for n in core]
    if outside is not None:
        result["conflict"] += [LABELS[n] for n in outside[0] if n not in core]
        result["suggestions"].append(outside[1])
        if "allowed_hardware" in outside[0]:
            result["reasons"] = _allowed_rejections(cands, sc, catalog) + result["reasons"]
    if any(k in " ".join(result["reasons"] + result["conflict"]) for k in ("does not fit", "KV", "VRAM", "weights", "memory")):
        result["suggestions"] += _precision_alternatives(sc, catalog, model)
    head = "; ".join(result["conflict"]) or "no configuration satisfies the scenario"
    result["message"] = f"no configuration satisfies the scenario - conflict: {head}"
    return result
