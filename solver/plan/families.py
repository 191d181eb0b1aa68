"""Constraint families of the planner, one class each.

Every family states its rule twice, on purpose: `violation(option)` in plain Python (the
specification, used by the validator and the brute-force oracle, no ortools) and `add(...)` as
linear CP-SAT constraints over the model's variables, enforced by the family's literal so that an
infeasible scenario can be explained by the families in conflict.  Both use the same scaled
integers (solver.plan.scaling), so they agree exactly at the boundaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from solver.plan.options import Option, Shape, even_split
from solver.plan.scaling import COST_SCALE, LAT_SCALE, MEM_SCALE, TPUT_SCALE, iround
from solver.schema.scenario import Scenario

if TYPE_CHECKING:  # pragma: no cover
    from solver.plan.variables import PlanVars


# ------------------------------------------------------------------------------- integer metrics
def price_int(shape: Shape) -> int | None:
    return None if shape.price_per_hour is None else iround(shape.price_per_hour * COST_SCALE)


def cost_int(o: Option, unit: str = "per_hour") -> int | None:
    """Scaled cost; per hour and per month from the per-server price x servers."""
    p = price_int(o.shape)
    if p is None:
        return None
    if unit == "per_hour":
        return p * o.servers
    if unit == "per_month":
        from solver.plan.scaling import HOURS_PER_MONTH

        return p * o.servers * HOURS_PER_MONTH
    c = o.cost("per_million_tokens")
    return iround(c * COST_SCALE) if c is not None and math.isfinite(c) else None


def tput_int(o: Option) -> int:
    return iround(o.total_tokens_per_s * TPUT_SCALE)


def tpot_int(o: Option) -> int:
    return iround(o.perf.tpot_ms * LAT_SCALE)


def ttft_int(o: Option) -> int:
    return iround(o.perf.ttft_ms * LAT_SCALE)


def per_user_int(o: Option) -> int:
    return iround(o.perf.per_user_tokens_per_s * TPUT_SCALE)


def vram_excess_int(o: Option) -> int:
    """MiB by which the KV of the replica's users exceeds the engine's KV pool (<= 0: fits)."""
    return math.ceil((o.kv_need_gib - o.shape.kv_pool_gib) * MEM_SCALE - 1e-9)


def capacity(o: Option) -> int:
    """Users the deployment serves at once: each replica runs its share of the users (even_split), an
    engine serving P requests at a time at most P of them."""
    high, low, extra = even_split(o.users, o.replicas)
    return extra * o.shape.running(high) + (o.replicas - extra) * o.shape.running(low)


def needs_price(sc: Scenario) -> bool:
    return "cost" in sc.objectives or sc.budget_per_hour is not None


def enforce(constraint: Any, lit: Any) -> None:
    """Tie a constraint to its family's literal (explanation mode); plain constraint otherwise."""
    if lit is not None:
        constraint.OnlyEnforceIf(lit)


# ------------------------------------------------------------------------------------ families
@dataclass(frozen=True)
class Family:
    name: str
    label: str

    def active(self, sc: Scenario) -> bool:
        return True

    def violation(self, o: Option, sc: Scenario) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def add(self, v: PlanVars, sc: Scenario, lit: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # helpers for families that forbid whole shapes
    def _forbid_shapes(self, v: PlanVars, lit: Any, bad: list[int]) -> None:
        if bad:
            enforce(v.model.Add(sum(v.y[k] for k in bad) == 0), lit)


class ShapeFamily(Family):
    """A family whose rule reads only the shape (GPU, server, engine, layout), not the load."""

    def shape_violation(self, s: Shape, sc: Scenario) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def violation(self, o, sc):
        return self.shape_violation(o.shape, sc)


class PrecisionSupport(ShapeFamily):
    def active(self, sc):
        return not sc.allow_fallback_precision

    def shape_violation(self, s, sc):
        if s.precision_path == "fallback" and not sc.allow_fallback_precision:
            return s.precision_note or f"{sc.precision.value} runs only through a fallback on {s.gpu.id}"
        return None

    def add(self, v, sc, lit):
        self._forbid_shapes(v, lit, [k for k, s in enumerate(v.shapes) if s.precision_path == "fallback"])


class EngineFeatures(ShapeFamily):
    def active(self, sc):
        return bool(sc.features)

    def shape_violation(self, s, sc):
        return s.feature_problem if sc.features else None

    def add(self, v, sc, lit):
        self._forbid_shapes(v, lit, [k for k, s in enumerate(v.shapes) if s.feature_problem])


class VramFit(Family):
    def violation(self, o, sc):
        if vram_excess_int(o) > 0:
            return (f"{o.users_per_replica} users per replica need {o.kv_need_gib:.1f} GiB of KV per GPU; "
                    f"the pool holds {o.shape.kv_pool_gib:.1f} GiB")
        return None

    def add(self, v, sc, lit):
        enforce(v.model.Add(v.model_cls.LinearExpr.WeightedSum(v.z, [vram_excess_int(o) for o in v.options]) <= 0), lit)


class MultiServer(ShapeFamily):
    def active(self, sc):
        return not sc.allow_multi_server

    def shape_violation(self, s, sc):
        if s.spans_servers and not sc.allow_multi_server:
            return f"one replica spans {s.servers_per_replica} servers (multi-server not allowed)"
        return None

    def add(self, v, sc, lit):
        self._forbid_shapes(v, lit, [k for k, s in enumerate(v.shapes) if s.spans_servers])


class UsersServed(Family):
    def violation(self, o, sc):
        if capacity(o) < sc.peak_users:
            return f"serves {capacity(o)} users at once, fewer than {sc.peak_users}"
        return None

    def add(self, v, sc, lit):
        enforce(v.model.Add(v.model_cls.LinearExpr.WeightedSum(v.z, [capacity(o) for o in v.options]) >= sc.peak_users), lit)


@dataclass(frozen=True)
class MetricTarget(Family):
    """A service target on one metric: metric <= limit (upper) or metric >= limit (lower)."""

    field: str = ""  # scenario field holding the target
    metric: Any = None  # Option -> scaled int
    scale: int = 1
    upper: bool = True
    text: Any = None  # (option, target) -> violation text

    def active(self, sc):
        return getattr(sc, self.field) is not None

    def limit(self, sc) -> int:
        x = getattr(sc, self.field) * self.scale
        return math.floor(x + 1e-9) if self.upper else math.ceil(x - 1e-9)

    def violation(self, o, sc):
        target = getattr(sc, self.field)
        if target is None:
            return None
        v = self.metric(o)
        bad = v > self.limit(sc) if self.upper else v < self.limit(sc)
        return self.text(o, target) if bad else None

    def add(self, v, sc, lit):
        expr = v.model_cls.LinearExpr.WeightedSum(v.z, [self.metric(o) for o in v.options])
        enforce(v.model.Add(expr <= self.limit(sc) if self.upper else expr >= self.limit(sc)), lit)


class PriceKnown(ShapeFamily):
    def active(self, sc):
        return needs_price(sc)

    def shape_violation(self, s, sc):
        if needs_price(sc) and s.price_per_hour is None:
            return f"{s.server.id} has no {sc.currency} price in the catalog (add one with an overlay)"
        return None

    def add(self, v, sc, lit):
        self._forbid_shapes(v, lit, [k for k, s in enumerate(v.shapes) if s.price_per_hour is None])


class ServerCountFamily(Family):
    """A family whose rule reads only the shape and how many servers the configuration takes, so a
    feasibility search can apply it before evaluating the load (candidates.enumerate_candidates)."""

    def breaks(self, shape: Shape, servers: int, sc: Scenario) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def violation(self, o, sc):
        return self.breaks(o.shape, o.servers, sc)


class Budget(ServerCountFamily):
    def active(self, sc):
        return sc.budget_per_hour is not None

    def limit(self, sc) -> int:
        return math.floor(sc.budget_per_hour * COST_SCALE + 1e-9)

    def breaks(self, shape, servers, sc):
        if sc.budget_per_hour is None:
            return None
        p = price_int(shape)  # cost_int per hour: the scaled price x servers
        if p is None:
            return f"{shape.server.id} has no {sc.currency} price, so the budget cannot be checked"
        if p * servers > self.limit(sc):
            return f"costs {shape.price_per_hour * servers:.2f} {sc.currency}/h, above the budget of {sc.budget_per_hour:g}"
        return None

    def add(self, v, sc, lit):
        costs = [cost_int(o) or 0 for o in v.options]
        enforce(v.model.Add(v.model_cls.LinearExpr.WeightedSum(v.z, costs) <= self.limit(sc)), lit)
        self._forbid_shapes(v, lit, [k for k, s in enumerate(v.shapes) if s.price_per_hour is None])


class AllowedHardware(ShapeFamily):
    def active(self, sc):
        return any(x is not None for x in (sc.allowed_vendors, sc.allowed_providers, sc.allowed_gpus, sc.allowed_servers))

    @staticmethod
    def hardware_problem(gpu, server, sc: Scenario) -> str | None:
        if sc.allowed_vendors is not None and gpu.vendor not in {x.lower() for x in sc.allowed_vendors}:
            return f"vendor {gpu.vendor} not allowed"
        if sc.allowed_providers is not None and server.provider not in {x.lower() for x in sc.allowed_providers}:
            return f"provider {server.provider} not allowed"
        if sc.allowed_gpus is not None and gpu.id not in sc.allowed_gpus:
            return f"GPU {gpu.id} not allowed"
        if sc.allowed_servers is not None and server.id not in sc.allowed_servers:
            return f"server {server.id} not allowed"
        return None

    def shape_problem(self, s: Shape, sc: Scenario) -> str | None:
        return self.hardware_problem(s.gpu, s.server, sc)

    def shape_violation(self, s, sc):
        return self.shape_problem(s, sc)

    def add(self, v, sc, lit):
        self._forbid_shapes(v, lit, [k for k, s in enumerate(v.shapes) if self.shape_problem(s, sc)])


class MaxServers(ServerCountFamily):
    def breaks(self, shape, servers, sc):
        if servers > sc.max_servers:
            return f"needs {servers} servers, more than the maximum of {sc.max_servers}"
        return None

    def add(self, v, sc, lit):
        enforce(v.model.Add(sc.max_servers >= v.S), lit)


class Stock(ServerCountFamily):
    def breaks(self, shape, servers, sc):
        st = shape.server.stock
        if st is not None and servers > st:
            return f"needs {servers} x {shape.server.id}; only {st} in stock"
        return None

    def add(self, v, sc, lit):
        over = [max(0, o.servers - o.shape.server.stock) if o.shape.server.stock is not None else 0 for o in v.options]
        if any(over):
            enforce(v.model.Add(v.model_cls.LinearExpr.WeightedSum(v.z, over) <= 0), lit)


FAMILIES: tuple[Family, ...] = (
    PrecisionSupport("precision_support", "precision support"),
    EngineFeatures("engine_features", "engine x hardware features"),
    VramFit("vram_fit", "VRAM fit (weights + KV of the users per replica)"),
    MultiServer("multi_server", "replica inside one server"),
    UsersServed("users_served", "users served (concurrent users x peak factor)"),
    MetricTarget("tpot_target", "time per output token target", field="max_tpot_ms", metric=tpot_int, scale=LAT_SCALE,
                 text=lambda o, t: f"TPOT {o.perf.tpot_ms:.1f} ms exceeds {t:g} ms"),
    MetricTarget("per_user_speed", "tokens/s per user target", field="min_tokens_per_s_per_user", metric=per_user_int,
                 scale=TPUT_SCALE, upper=False,
                 text=lambda o, t: f"{o.perf.per_user_tokens_per_s:.1f} tokens/s per user is below {t:g}"),
    MetricTarget("ttft_target", "time to first token target", field="max_ttft_ms", metric=ttft_int, scale=LAT_SCALE,
                 text=lambda o, t: f"TTFT {o.perf.ttft_ms:.0f} ms exceeds {t:g} ms"),
    MetricTarget("total_throughput", "total tokens/s target", field="min_total_tokens_per_s", metric=tput_int,
                 scale=TPUT_SCALE, upper=False, text=lambda o, t: f"{o.total_tokens_per_s:.0f} output tokens/s is below {t:g}"),
    PriceKnown("price_known", "price known in the scenario's currency"),
    Budget("budget", "budget cap"),
    AllowedHardware("allowed_hardware", "allowed vendors, providers, GPUs, servers"),
    MaxServers("max_servers", "maximum servers"),
    Stock("stock", "servers in stock"),
)


def active_families(sc: Scenario) -> tuple[Family, ...]:
    return tuple(f for f in FAMILIES if f.active(sc))


def violations(o: Option, sc: Scenario) -> list[tuple[str, str]]:
    """(family name, reason) for every family the option breaks."""
    return [(f.name, why) for f in active_families(sc) if (why := f.violation(o, sc))]


def breaks_any(o: Option, sc: Scenario, active: tuple[Family, ...]) -> bool:
    """The option breaks one of the `active` families (active_families(sc)); stops at the first."""
    return any(f.violation(o, sc) for f in active)


def broken_names(o: Option, sc: Scenario, active: tuple[Family, ...]) -> frozenset[str]:
    """The names of the `active` families (active_families(sc)) the option breaks: violations' names,
    without asking each family whether it is active once per option."""
    return frozenset(f.name for f in active if f.violation(o, sc))


#: service targets on one replica's metrics, which only worsen as its load grows (candidates screen on them)
SERVICE = ("tpot_target", "per_user_speed", "ttft_target")


def service_active(sc: Scenario) -> bool:
    return any(f.active(sc) for f in FAMILIES if f.name in SERVICE)


def service_breaks(o: Option, sc: Scenario) -> frozenset[str]:
    """The service targets the option misses."""
    return frozenset(f.name for f in FAMILIES if f.name in SERVICE and f.active(sc) and f.violation(o, sc))


def server_count_breaks(shape: Shape, servers: int, sc: Scenario) -> bool:
    """`servers` of this shape break max_servers, the stock or the budget, whatever the load."""
    return any(isinstance(f, ServerCountFamily) and f.active(sc) and f.breaks(shape, servers, sc) for f in FAMILIES)


def shape_breaks(s: Shape, sc: Scenario) -> frozenset[str]:
    """The shape-level families the shape breaks (every configuration of it breaks them)."""
    return frozenset(f.name for f in FAMILIES if isinstance(f, ShapeFamily) and f.active(sc) and f.shape_violation(s, sc))


def shape_problem(s: Shape, sc: Scenario) -> str | None:
    """The first shape-level family the shape breaks, as 'family: reason'."""
    for f in FAMILIES:
        if isinstance(f, ShapeFamily) and f.active(sc):
            why = f.shape_violation(s, sc)
            if why:
                return f"{f.name}: {why}"
    return None
