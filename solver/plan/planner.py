"""`solve(scenario, catalog)`: the product's answer for one scenario.

Resolve the scenario -> enumerate and evaluate candidates -> CP-SAT exact front -> validate every
configuration without the solver -> explain (each configuration's reason to be there, or why
nothing fits).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from solver.errors import ScenarioError, UnknownIdError
from solver.plan.candidates import enumerate_candidates
from solver.plan.families import capacity
from solver.plan.options import Option
from solver.predict.fabric import in_fast_domain
from solver.schema.catalog import Catalog
from solver.schema.llm import LlmModel
from solver.schema.resolve import resolve_model
from solver.schema.scenario import Scenario

FAST_FABRICS = ("nvswitch", "nvlink_bridge", "nvlink_mesh", "infinity_fabric", "roce_mesh")


@dataclass
class Plan:
    scenario: Scenario
    model: LlmModel
    model_known: bool
    status: str  # ok | infeasible
    front: list[dict]
    options: list[Option] = field(default_factory=list)  # the chosen options, same order as front
    explanation: dict | None = None
    stats: dict = field(default_factory=dict)
    recommendation: dict | None = None  # solver.plan.recommend.recommendation
    warnings: list[str] = field(default_factory=list)
    front_total: int = 0  # configurations of the front computed (front: those shown; all with full_front)
    front_complete: bool = True  # False: the front was computed up to where more cost buys little (not full_front)

    def to_frame(self):
        """The front as a pandas DataFrame, one row per configuration (the error ranges as *_low / *_high
        columns); `recommended` marks the recommendation."""
        import pandas as pd

        rows = []
        for c in self.front:
            row = {k: v for k, v in c.items() if k not in ("range", "unverified", "notes")}
            for metric, (low, high) in ((m, v) for m, v in c["range"].items() if m != "band"):
                row[f"{metric}_low"], row[f"{metric}_high"] = low, high
            row["band"] = c["range"]["band"]
            row["unverified"] = ", ".join(c["unverified"])
            rows.append(row)
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        """The notebook view: the recommendation, then the front."""
        import html

        if self.status != "ok":
            e = self.explanation or {}
            return f"<p><b>infeasible</b>: {html.escape(e.get('message', ''))}</p>"
        r = self.recommendation or {}
        cols = ["gpus", "gpu", "servers", "server", "engine", "tp", "pp", "replicas", "cost_per_hour", "currency",
                "output_tokens_per_s", "output_tokens_per_s_per_user", "tpot_ms", "ttft_ms"]
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = "".join("<tr" + (" style='font-weight:bold'" if c.get("recommended") else "") + ">"
                       + "".join(f"<td>{html.escape(str(c[k]))}</td>" for k in cols) + "</tr>" for c in self.front)
        cmd = f"<pre>{html.escape(r['command'])}</pre>" if r.get("command") else ""
        return (f"<p><b>Recommended</b>: {html.escape(r.get('text', ''))}</p>{cmd}"
                f"<table><tr>{head}</tr>{body}</table><p>{len(self.front)} of {self.front_total} Pareto-optimal "
                "configurations shown (full_front=True for all).</p>")

    def as_dict(self) -> dict:
        sc = self.scenario
        return {
            "status": self.status,
            "scenario": sc.model_dump(mode="json", exclude_none=True),
            "model": {"id": self.model.id, "name": self.model.name, "architecture_known": self.model_known,
                      "source": self.model.source[0]},
            "objectives": list(sc.objectives),
            "cost_unit": sc.cost_unit,
            "currency": sc.currency,
            "peak_users": sc.peak_users,
            "recommendation": self.recommendation,
            "warnings": self.warnings,
            "front": self.front,
            "front_total": self.front_total,
            "front_complete": self.front_complete,
            "explanation": self.explanation,
            # counts only: timings vary between runs and the output must be byte-identical
            "stats": {k: v for k, v in self.stats.items() if not k.endswith("_ms")},
        }


def gpu_family(catalog: Catalog, name: str) -> list[str]:
    """The GPU a name or alias means, or — for a family name such as 'H100' or 'mi300' that names no
    single GPU — every GPU whose id or alias begins with it."""
    try:
        return [catalog.gpu(name).id]
    except UnknownIdError:
        n = name.strip().lower()
        family = sorted({g.id for g in catalog.gpus.values() if n and any(k.lower().startswith(n) for k in (g.id, *g.aliases))})
        if not family:
            raise
        return family


def prepare(scenario: Scenario, catalog: Catalog) -> tuple[Scenario, LlmModel, bool]:
    """Normalise ids and aliases; a model known only by its parameter count uses the guide's memory rule;
    a scenario without a speed target gets the reading-speed floor (solver.plan.recommend)."""
    model, known = resolve_model(catalog, scenario.model, scenario.params_b)
    upd: dict = {}
    if model.published_precision is not None and "precision" not in scenario.model_fields_set:
        upd["precision"] = model.published_precision  # a checkpoint read from its config.json: its own format
    if scenario.engine != "any":
        upd["engine"] = catalog.engine(scenario.engine).id
    if scenario.allowed_gpus is not None:
        upd["allowed_gpus"] = [gid for g in scenario.allowed_gpus for gid in gpu_family(catalog, g)]
    if scenario.allowed_servers is not None:
        upd["allowed_servers"] = [catalog.server(s).id for s in scenario.allowed_servers]
    from solver.schema.engine import FEATURES

    for f in scenario.features:
        if f not in FEATURES:
            from solver.errors import suggestion

            raise ScenarioError(f"unknown feature '{f}'.{suggestion(f, FEATURES)} Valid: {', '.join(FEATURES)}")
    if any(f not in scenario.features for f in model.layer_features):  # its layer kinds, as needed features
        upd["features"] = [*scenario.features, *(f for f in model.layer_features if f not in scenario.features)]
    if not known and scenario.memory_rule != "guide":
        upd["memory_rule"] = "guide"
    if scenario.context_tokens > model.native_context and known:
        raise ScenarioError(f"context {scenario.context_tokens} exceeds {model.id}'s native context of {model.native_context} tokens")
    from solver.plan.recommend import with_speed_floor

    floored, _ = with_speed_floor(scenario.model_copy(update=upd) if upd else scenario)
    return floored, model, known


def deployment_option(o: Option) -> tuple[str, str]:
    s = o.shape
    inner = "A" if s.gpus_per_replica == 1 else ("C" if s.server.interconnect.kind in FAST_FABRICS and s.tp <= s.server.interconnect.fast_domain_gpus else "B")
    text = {"A": "one GPU", "B": f"{s.gpus_per_replica} GPUs in one server over PCIe (no NVLink)",
            "C": f"{s.gpus_per_replica} GPUs in one server over {s.server.interconnect.kind}"}[inner]
    if s.ep > 1:
        text += f", the experts spread whole over the {s.ep} GPUs (expert parallelism)"
    if s.spans_servers:
        ic = s.server.interconnect
        if in_fast_domain(ic.kind, ic.fast_domain_gpus, s.gpus_per_replica):
            net = f"one {ic.fast_domain_gpus}-GPU {ic.kind} domain"
        else:
            net = s.server.network.kind if s.server.network else "network"
        base = f"one replica over {s.servers_per_replica} servers ({net}), TP{s.tp} x PP{s.pp}" + (f", experts over EP{s.ep}" if s.ep > 1 else "")
        return "E", base + (f"; {o.replicas} replicas behind a load balancer" if o.replicas > 1 else "")
    if o.replicas > 1:
        return "D", f"{o.replicas} replicas behind a load balancer, each {text} (option {inner})"
    return inner, text


def binding(o: Option, sc: Scenario) -> str:
    """The constraint closest to its limit for this configuration."""
    ratios: list[tuple[float, str]] = []
    pool = o.shape.kv_pool_gib
    if pool > 0:
        ratios.append((o.kv_need_gib / pool, f"VRAM: KV cache uses {100 * o.kv_need_gib / pool:.0f}% of the pool"))
    if sc.max_tpot_ms:
        ratios.append((o.perf.tpot_ms / sc.max_tpot_ms, f"TPOT {o.perf.tpot_ms:.1f} of {sc.max_tpot_ms:g} ms"))
    if sc.max_ttft_ms:
        ratios.append((o.perf.ttft_ms / sc.max_ttft_ms, f"TTFT {o.perf.ttft_ms:.0f} of {sc.max_ttft_ms:g} ms"))
    if sc.min_tokens_per_s_per_user:
        ratios.append((sc.min_tokens_per_s_per_user / o.perf.per_user_tokens_per_s,
                       f"{o.perf.per_user_tokens_per_s:.1f} tokens/s per user (min {sc.min_tokens_per_s_per_user:g})"))
    if sc.min_total_tokens_per_s:
        ratios.append((sc.min_total_tokens_per_s / o.total_tokens_per_s, f"{o.total_tokens_per_s:.0f} tokens/s (min {sc.min_total_tokens_per_s:g})"))
    if sc.budget_per_hour and o.cost_per_hour is not None:
        ratios.append((o.cost_per_hour / sc.budget_per_hour, f"budget: {o.cost_per_hour:.2f} of {sc.budget_per_hour:g}/h"))
    ratios.append((o.servers / sc.max_servers, f"servers: {o.servers} of {sc.max_servers}"))
    users = o.shape.running(o.users_per_replica)
    if o.shape.max_users_memory:
        ratios.append((users / o.shape.max_users_memory, f"users per replica: {users} of {o.shape.max_users_memory} that memory holds"))
    return max(ratios)[1]


def config_dict(o: Option, sc: Scenario) -> dict:
    s, p = o.shape, o.perf
    (tl, th), (pl, ph) = s.band
    opt, detail = deployment_option(o)
    r2 = lambda x: None if x is None else round(x, 4)  # noqa: E731
    return {
        "gpu": s.gpu.id,
        "gpu_vendor": s.gpu.vendor,
        "gpus_per_replica": s.gpus_per_replica,
        "server": s.server.id,
        "provider": s.server.provider,
        "servers": o.servers,
        "gpus": o.gpus,
        "interconnect": s.interconnect,
        "engine": s.engine.id,
        "tp": s.tp,
        "pp": s.pp,
        "ep": s.ep,
        "replicas": o.replicas,
        "users_per_replica": o.users_per_replica,
        "running_per_replica": s.running(o.users_per_replica),
        "idle_gpus": o.idle_slots,
        "users_served": capacity(o),
        "precision": sc.precision.value,
        "precision_path": s.precision_path,
        "kv_precision": s.kv_precision.value,
        "memory_headroom_pct": round(100 * (1 - o.kv_need_gib / s.kv_pool_gib), 1) if s.kv_pool_gib > 0 else 0.0,
        "ttft_ms": round(p.ttft_ms, 2),
        "tpot_ms": round(p.tpot_ms, 3),
        "output_tokens_per_s": round(o.total_tokens_per_s, 2),
        "output_tokens_per_s_per_user": round(p.per_user_tokens_per_s, 2),
        "output_tokens_per_s_per_gpu": round(o.total_tokens_per_s / o.gpus, 2),
        "range": {
            "ttft_ms": [round(p.ttft_ms * tl, 2), round(p.ttft_ms * th, 2)],
            "tpot_ms": [round(p.tpot_ms * pl, 3), round(p.tpot_ms * ph, 3)],
            "output_tokens_per_s": [round(o.total_tokens_per_s / ph, 2), round(o.total_tokens_per_s / pl, 2)],
            "band": "measured" if s.calibrated else "extrapolated",
        },
        "cost_per_hour": r2(o.cost("per_hour")),
        "cost_per_month": r2(o.cost("per_month")),
        "cost_per_million_tokens": r2(o.cost("per_million_tokens")),
        "currency": sc.currency if s.price_per_hour is not None else None,
        "deployment_option": opt,
        "deployment": detail,
        "bound": p.bound,
        "binding_constraint": binding(o, sc),
        "unverified": sorted({f"gpu.{x}" for x in s.gpu.unverified} | {f"server.{x}" for x in s.server.unverified}
                             | {f"engine.{x}" for x in s.engine.doubts(s.gpu.compat_key, sc.precision.value,
                                                                     s.kv_precision.value, sc.features)}),
        "notes": [n for n in (s.precision_note, s.price_note) if n],
    }


def annotate_why(front: list[dict], sc: Scenario) -> None:
    """Why each configuration is on the front, in the user's terms."""
    if not front:
        return
    if len(front) == 1:
        front[0]["why"] = f"the best configuration for {', '.join(sc.objectives)}"
        return
    key = "cost_per_hour" if "cost" in sc.objectives else "output_tokens_per_s"
    for i, c in enumerate(front):
        parts = []
        if "cost" in sc.objectives and c["cost_per_hour"] == min(x["cost_per_hour"] for x in front):
            parts.append("lowest cost")
        if "throughput" in sc.objectives and c["output_tokens_per_s"] == max(x["output_tokens_per_s"] for x in front):
            parts.append("highest throughput")
        if "latency" in sc.objectives:
            lat = "tpot_ms" if sc.latency_metric == "tpot" else "ttft_ms"
            if c[lat] == min(x[lat] for x in front):
                parts.append(f"lowest {sc.latency_metric.upper()}")
        if not parts and i > 0 and key == "cost_per_hour":
            prev = front[i - 1]
            dc = 100 * (c["cost_per_hour"] / prev["cost_per_hour"] - 1) if prev["cost_per_hour"] else math.inf
            dt = 100 * (c["output_tokens_per_s"] / prev["output_tokens_per_s"] - 1)
            parts.append(f"+{dt:.0f}% throughput for +{dc:.0f}% cost over the next cheaper configuration")
        if not parts:
            parts.append("not dominated: no other configuration is at least as good on every objective")
        c["why"] = "; ".join(parts)


#: scenario fields that do not change the candidates (their evaluation can be shared between rows)
NOT_IN_CANDIDATES = {"id", "objectives", "cost_unit", "latency_metric", "budget_per_hour", "max_servers", "min_total_tokens_per_s"}


def candidates_key(sc: Scenario) -> str:
    from solver.plan.families import needs_price

    data = sc.model_dump(mode="json", exclude=NOT_IN_CANDIDATES)
    return repr(sorted(data.items())) + f"|price={needs_price(sc)}"


class LruCache(dict):
    """A small insertion-ordered LRU for shared candidate evaluation (batch rows with the same workload)."""

    def __init__(self, size: int = 128):
        super().__init__()
        self.size = size

    def get_or(self, key: str, make):
        if key in self:
            value = self.pop(key)
        else:
            value = make()
            if len(self) >= self.size:
                self.pop(next(iter(self)))
        self[key] = value
        return value


def solve(scenario: Scenario | dict, catalog: Catalog | None = None, validate: bool = True,
          cache: LruCache | None = None) -> Plan:
    """The exact Pareto front for `scenario` (or an explanation of why nothing fits).

    `scenario`: a Scenario or a dict of its fields (validated, old field names accepted);
    `catalog`: the built-in one when None.  `cache` shares candidate evaluation between scenarios that
    differ only in objectives, budget or server limits (batch runs); results are identical with or
    without it."""
    if isinstance(scenario, dict):
        from solver.schema.scenario import build_scenario

        scenario = build_scenario(scenario)
    if catalog is None:
        from solver.schema.catalog import load_catalog

        catalog = load_catalog()
    from solver.plan.cpsat_model import PlanModel
    from solver.plan.pareto import exact_front
    from solver.plan.recommend import (
        head_is_enough,
        recommend_index,
        recommendation,
        shown_front,
        with_speed_floor,
    )

    sc, model, known = prepare(scenario, catalog)
    _, warnings = with_speed_floor(scenario)
    t0 = time.perf_counter()
    memo: dict = {}  # memory and speed per hardware and layout for this scenario, reused by the explanation
    if cache is None:
        cands = enumerate_candidates(sc, catalog, model, select="feasible", memo=memo)
    else:
        cands = cache.get_or(candidates_key(sc), lambda: enumerate_candidates(sc, catalog, model, select="feasible", memo=memo))
    t1 = time.perf_counter()
    from solver.plan.dominance import front_candidates, objective_rows, prune_dominated
    from solver.plan.families import active_families, breaks_any

    shapes, options = cands.shapes, cands.options
    before = len(options)
    options, any_feasible = front_candidates(options, sc)  # the cheap objective-space reduction first
    if not any_feasible:  # every option breaks a constraint family on its own (the model's, in Python)
        options = []
    options = prune_dominated(options, sc)
    used = {id(o.shape) for o in options}
    shapes = [s for s in shapes if id(s) in used]
    chosen: list[int] = []
    complete = True
    active = active_families(sc)
    if options and not any(breaks_any(o, sc, active) for o in options):
        # every option left is feasible and none dominates another in objective space: they are the
        # front (a single objective: its lexicographic minimum), no model needed
        rows = objective_rows(options, sc)
        order = sorted(range(len(options)), key=lambda i: tuple(rows[i]))
        chosen = order[:1] if len(sc.objectives) == 1 else order
    elif options:
        pm = PlanModel(shapes, options, sc)
        stop = None
        if not sc.full_front and list(sc.objectives) == ["cost", "throughput"] and sc.cost_unit == "per_hour":
            def stop(found: list[int]) -> bool:
                return head_is_enough([_summary(options[i]) for i in found], sc)

        chosen = exact_front(pm, list(sc.objectives), stop)
        complete = stop is None or len(chosen) < 2 or not stop(chosen)
    t2 = time.perf_counter()
    stats = {"shapes": len(cands.shapes) + len(cands.presolved), "rejected_shapes": len(cands.rejections),
             "presolved_shapes": len(cands.presolved), "options": before, "model_options": len(options),
             "evaluation_ms": round(1e3 * (t1 - t0), 1), "cpsat_ms": round(1e3 * (t2 - t1), 1)}
    if not chosen:
        from solver.plan.explain import explain

        expl = explain(cands, sc, catalog, model, memo)
        stats["explanation_ms"] = round(1e3 * (time.perf_counter() - t2), 1)
        return Plan(sc, model, known, "infeasible", [], [], expl, stats, warnings=warnings)
    opts = sorted((options[i] for i in chosen), key=lambda o: _sort_key(o, sc))
    front = [config_dict(o, sc) for o in opts]
    annotate_why(front, sc)
    if validate:
        from solver.plan.validate import validate_config

        for c in front:
            problems = validate_config(c, sc, catalog, model)
            if problems:
                raise AssertionError(f"validator rejected a solver answer ({c['server']}): {problems}")
    stats["validated"] = validate
    best, rule = recommend_index(front, sc)
    rec = recommendation(front[best], rule, sc, catalog, model, warnings)
    for i, c in enumerate(front):
        c["recommended"] = i == best
    shown = list(range(len(front))) if sc.full_front else shown_front(front, best)
    return Plan(sc, model, known, "ok", [front[i] for i in shown], [opts[i] for i in shown], None, stats, rec, warnings,
                len(front), complete)


def _summary(o: Option) -> dict:
    """The metrics solver.plan.recommend reads, of an option not yet turned into a configuration."""
    return {"cost_per_hour": o.cost_per_hour, "gpus": o.gpus, "output_tokens_per_s": o.total_tokens_per_s,
            "tpot_ms": o.perf.tpot_ms, "ttft_ms": o.perf.ttft_ms, "output_tokens_per_s_per_user": o.perf.per_user_tokens_per_s}


def _sort_key(o: Option, sc: Scenario) -> tuple:
    c = o.cost(sc.cost_unit)
    return (c if c is not None else 0.0, -o.total_tokens_per_s, o.perf.tpot_ms, o.shape.key, o.replicas)
