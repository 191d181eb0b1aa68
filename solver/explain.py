"""Why nothing fits, in the user's terms, and the nearest relaxation that would make it fit.

Local conflicts come from the candidates' rejection reasons (no shape survives: precision, engine,
memory...).  Cross-candidate conflicts come from CP-SAT: the model is rebuilt with each family's
literal as an assumption and the solver names a subset of families that cannot hold together.
The nearest relaxation of each family in that core is read off the options that break only it.
"""

from __future__ import annotations

from collections import Counter

from solver.candidates import Candidates, enumerate_candidates
from solver.catalog import Catalog
from solver.families import FAMILIES, capacity, violations
from solver.schema.llm import LlmModel
from solver.schema.precision import Precision
from solver.schema.scenario import Scenario

LABELS = {f.name: f.label for f in FAMILIES}


def _core(cands: Candidates, sc: Scenario) -> list[str]:
    from solver.cpsat_model import PlanModel
    from solver.dominance import prune_dominated

    # exact reduction: an option no better than another on every constraint (shape-level ones
    # included as 0/1 columns) cannot change which families conflict
    options = prune_dominated(cands.options, sc, shape_flags=True)
    used = {id(o.shape) for o in options}
    pm = PlanModel([s for s in cands.shapes if id(s) in used], options, sc, explain=True)
    solver = pm.solver()
    status = solver.Solve(pm.model)
    if status != pm.cp.INFEASIBLE:
        return []
    names = {lit.Index(): n for n, lit in pm.v.lits.items()}
    return sorted(names[i] for i in solver.SufficientAssumptionsForInfeasibility() if i in names)


def _relaxation(cands: Candidates, sc: Scenario, family: str, broken: list[frozenset[str]]) -> str | None:
    """The best option that breaks only `family`, described as what the user would have to accept."""
    only = [o for o, b in zip(cands.options, broken, strict=True) if b == {family}]
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
    if family == "price_known":
        servers = sorted({o.shape.server.id for o in only})
        return f"only servers without a {cur} price fit ({', '.join(servers[:4])}): add prices with an overlay, or choose another currency"
    if family == "allowed_hardware":
        o = min(only, key=lambda o: (o.cost_per_hour or 0, -o.total_tokens_per_s))
        return f"fits on {o.shape.gpu.id} ({o.shape.server.id}), which is not allowed"
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
    from solver.families import AllowedHardware

    if not AllowedHardware("allowed_hardware", "").active(sc):
        return []
    allowed_servers = {s.id for s in catalog.servers.values()
                       if AllowedHardware.hardware_problem(catalog.gpus[s.gpu], s, sc) is None}
    counts = Counter(reason for desc, reason in cands.rejections if desc.split(" / ")[0] in allowed_servers)
    return [f"allowed hardware: {r} ({n}x)" for r, n in counts.most_common(5)]


def _precision_alternatives(sc: Scenario, catalog: Catalog, model: LlmModel) -> list[str]:
    """Lower precisions under which configurations exist ('fits with FP8')."""
    out = []
    order = [Precision.fp8, Precision.int8, Precision.int4, Precision.fp4]
    for p in order:
        if p == sc.precision:
            continue
        alt = sc.model_copy(update={"precision": p, "kv_precision": sc.kv_precision})
        c = enumerate_candidates(alt, catalog, model, presolve=True)
        if any(not violations(o, alt) for o in c.options):
            out.append(f"fits with {p.value.upper()} weights")
            break
    return out


def explain(cands: Candidates, sc: Scenario, catalog: Catalog, model: LlmModel) -> dict:
    result: dict = {"conflict": [], "reasons": [], "suggestions": []}
    if not cands.options:
        counts = Counter(reason for _, reason in cands.rejections)
        result["reasons"] = _allowed_rejections(cands, sc, catalog) + [f"{n} candidate(s): {r}" for r, n in counts.most_common(6)]
        result["conflict"] = ["no candidate survives the local checks (engine x hardware, precision, parallelism, memory)"]
    else:
        core = _core(cands, sc)
        result["conflict"] = [LABELS[n] for n in core]
        broken = [frozenset(n for n, _ in violations(o, sc)) for o in cands.options]
        for n in core:
            r = _relaxation(cands, sc, n, broken)
            if r:
                result["suggestions"].append(r)
        # reasons per family over all options, for the user's overview
        per_family = Counter(n for b in broken for n in b)
        result["reasons"] = [f"{LABELS[n]}: breaks {k} of {len(cands.options)} options" for n, k in per_family.most_common()]
        if "allowed_hardware" in core:
            result["reasons"] = _allowed_rejections(cands, sc, catalog) + result["reasons"]
    if any(k in " ".join(result["reasons"] + result["conflict"]) for k in ("does not fit", "KV", "VRAM", "weights", "memory")):
        result["suggestions"] += _precision_alternatives(sc, catalog, model)
    head = "; ".join(result["conflict"]) or "no configuration satisfies the scenario"
    result["message"] = f"no configuration satisfies the scenario - conflict: {head}"
    return result
