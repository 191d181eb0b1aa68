"""Candidate replica shapes and their replica counts for one scenario, each evaluated by the estimate model.

A *shape* fixes the server SKU (hence GPU type and interconnect), the engine, TP and PP; a replica
uses TP x PP GPUs, inside one server (several replicas may share it) or across whole servers.  An
*option* is a shape with a number of replicas carrying the peak users between them, spread evenly
(options.even_split); it is evaluated at the loads its replicas really carry.  Every server count that
can matter is an option (see _add_options for why one replica count per server count is exact), so
the front is exact over replica counts.  Shape-level impossibilities (engine not on that hardware,
precision unsupported, parallelism rule, weights do not fit) become rejections with reasons.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from solver.plan.families import (
    AllowedHardware,
    needs_price,
    server_count_breaks,
    service_active,
    service_breaks,
    shape_breaks,
    shape_problem,
)
from solver.plan.options import MAX_REPLICA_SERVERS, Candidates, Option, Shape, even_split
from solver.predict.attainable import factors_for
from solver.predict.compat import (
    engine_runs,
    features_ok,
    kv_precision_for,
    kv_precision_ok,
    parallelism_ok,
    precision_path,
)
from solver.predict.estimate import band_factors
from solver.predict.fabric import fabric_of, in_fast_domain, links_of
from solver.predict.memory import plan_memory, token_budget
from solver.predict.speed import Perf, ReplicaSpeed
from solver.schema.calibration import PerfFactors
from solver.schema.catalog import Catalog
from solver.schema.engine import Engine
from solver.schema.hardware import Server
from solver.schema.llm import LlmModel
from solver.schema.pricing import price_in
from solver.schema.scenario import Scenario

#: which shapes an enumeration evaluates:
#: all          every shape (the brute-force oracle, tests)
#: feasible     only shapes no shape-level family forbids (the planner: exactly what those families'
#:              CP-SAT constraints would do, decided before any memory or speed evaluation)
#: in_scope_rest  shapes on hardware the scenario allows and can price, that a non-scope shape-level
#:              family forbids (fallback precision, engine features, multi-server): the explanation's
#:              complement of `feasible`
#: out_of_scope shapes on hardware not allowed or without a price (the explanation's "fits on ...")
SELECT = ("all", "feasible", "in_scope_rest", "out_of_scope")


def layouts_for(server: Server, engine: Engine, model: LlmModel) -> list[tuple[int, int, int]]:
    """(tp, pp, servers_per_replica) worth trying on this server."""
    n = server.gpu_count
    out = []
    g = 1
    while g <= n:
        for tp in (d for d in range(1, g + 1) if g % d == 0):
            out.append((tp, g // tp, 1))
        g *= 2
    if n not in [x[0] * x[1] for x in out]:  # 1/2/4/8/16 are powers of two; kept for safety
        out.append((n, 1, 1))
    if not engine.parallelism.multi_server:
        return out
    ic = server.interconnect
    # a fast domain spanning servers (GB200 NVL72: 18 trays of 4): TP over whole servers of it, where
    # the TP divides the attention heads (parallelism_ok says why for any other)
    domain_servers = ic.fast_domain_gpus // n if in_fast_domain(ic.kind, ic.fast_domain_gpus, 2 * n) else 1
    out += [(n * s, 1, s) for s in range(2, domain_servers + 1) if model.attention_heads % (n * s) == 0]
    # TP inside a server, PP across servers (engines' recommended layout): over the network, or within the domain
    most = MAX_REPLICA_SERVERS if server.network is not None else domain_servers
    s = 2
    while s <= most:
        out.append((n, s, s))
        s *= 2
    return out


def expert_layouts(engine: Engine, model: LlmModel, tp: int, factors: PerfFactors) -> tuple[int, ...]:
    """The expert-parallel degrees worth trying: 1 (experts split by TP), and TP itself where the engine
    spreads experts whole (EP = TP: vLLM's EP_SIZE = TP x DP with one DP rank, SGLang's all-to-all
    backends need ep_size == tp_size), the expert count divides over the GPUs, and the engine's fitted EP
    efficiency is above 1 — where the calibration found whole experts read faster than TP-split ones
    (TensorRT-LLM).  At or below 1 (vLLM 0.92, SGLang 0.96: EP as TP within the fit's noise) the EP twin
    has the same memory and cost and slower decode steps, and offering it would double the layouts to
    evaluate for nothing a plan could use: `gpuplan estimate --ep` still gives its numbers."""
    if (tp > 1 and model.moe is not None and engine.parallelism.expert_parallel and model.moe.experts % tp == 0
            and factors.moe_ep_efficiency > 1):
        return (1, tp)
    return (1,)


def _describe(server: Server, engine: Engine, tp: int, pp: int, ep: int = 1) -> str:
    return f"{server.id} / {engine.id} / TP{tp} PP{pp}" + (f" EP{ep}" if ep > 1 else "")


def enumerate_candidates(scenario: Scenario, catalog: Catalog, model: LlmModel, select: str = "all",
                         screen: bool = True, stop: Callable[[Candidates], bool] | None = None,
                         memo: dict[tuple, Any] | None = None, evaluate: bool = True) -> Candidates:
    """Shapes and their evaluated replica counts (`select`: see SELECT).

    evaluate=False lists the shapes that pass every shape-level check, memory included, without
    evaluating any replica count (the fleet's pools size replicas themselves: solver.plan.pools).

    screen=True skips configurations that provably break a service target (metrics worsen with the
    load: a shape too slow with one user per replica, levels above the largest load meeting the
    targets), recording what they break in `blocked`; the front is unchanged, since they are
    infeasible.  `stop` ends the enumeration early once it returns True (a feasibility search);
    such a search also skips shapes whose least possible servers or cost break max_servers or budget.
    `memo` shares memory and speed evaluations between enumerations of the *same* scenario (the
    planner's and the explanation's); it is keyed by hardware and layout, not by the workload.
    """
    if select not in SELECT:
        raise ValueError(f"select must be one of {SELECT}")
    early = select == "feasible"  # shape-level families checked before any memory or speed evaluation
    engines = list(catalog.engines.values()) if scenario.engine == "any" else [catalog.engine(scenario.engine)]
    peak = scenario.peak_users
    seq, ctx = scenario.prompt_tokens + scenario.output_tokens, scenario.context_tokens
    cands = Candidates(model=model, shapes=[], options=[], peak_users=peak)
    rej = cands.rejections
    # memory and speed depend on the GPU, engine, layout and links, not on who sells the server: many
    # SKUs share them, so both are evaluated once per scenario (measured: sharing them between batch
    # rows too cost more memory and time than its rare hits saved)
    if memo is None:
        memo = {}
    # the explanation's complement enumeration skips them too: a twin's violations are a superset of its
    # cheaper twin's, so the smallest conflict and the relaxations are the same without it
    twins = pricier_twins(catalog, scenario) if select in ("feasible", "in_scope_rest") else {}
    for server in catalog.servers.values():
        if server.id in twins:
            if early:
                cands.presolved.append((server.id, f"the same hardware as {twins[server.id]}, which costs no more and has no stock limit"))
            continue
        gpu = catalog.gpus[server.gpu]
        price, price_note = price_in(server, scenario.currency, catalog.pricing,
                                     catalog.exchange_rates if scenario.convert_prices else None)
        why = AllowedHardware.hardware_problem(gpu, server, scenario)
        if why is None and price is None and needs_price(scenario):
            why = f"price_known: {server.id} has no {scenario.currency} price"
        in_scope = why is None  # hardware the scenario allows and can price
        if select == "out_of_scope" and in_scope:
            continue
        if select in ("feasible", "in_scope_rest") and not in_scope:
            if early:
                cands.presolved.append((server.id, why))
            continue
        for engine in engines:
            head = f"{server.id} / {engine.id}"
            v = engine_runs(engine, gpu)
            if not v.ok:
                rej.append((head, v.reason))
                continue
            path, note = precision_path(engine, gpu, scenario.precision)
            if path == "unsupported":
                rej.append((head, note))
                continue
            kv = kv_precision_for(engine, gpu, scenario.precision, scenario.kv_precision)
            v = kv_precision_ok(engine, gpu, kv)
            if not v.ok:
                rej.append((head, v.reason))
                continue
            feat = features_ok(engine, gpu, scenario.features)
            pair_bad = (path == "fallback" and not scenario.allow_fallback_precision) or not feat.ok
            if early and pair_bad:
                cands.presolved.append((head, note if path == "fallback" and not scenario.allow_fallback_precision else feat.reason))
                continue
            factors, exact = factors_for(catalog, engine.id, gpu, scenario.precision)
            fab = fabric_of(server, gpu)
            for tp, pp, spr in layouts_for(server, engine, model):
                if early and spr > 1 and not scenario.allow_multi_server:
                    continue
                if select == "in_scope_rest" and not (pair_bad or (spr > 1 and not scenario.allow_multi_server)):
                    continue  # the planner's own enumeration covered it
                desc = _describe(server, engine, tp, pp)
                v = parallelism_ok(engine, model, tp, pp, spr > 1)
                if not v.ok:
                    rej.append((desc, v.reason))
                    continue
                mkey = ("memory", gpu.id, engine.id, tp, pp)
                mem = memo.get(mkey)
                if mem is None:
                    mem = memo[mkey] = plan_memory(model, gpu, engine, scenario.precision, kv, tp, pp, 1, seq, ctx,
                                                   scenario.memory_rule)
                if mem.max_concurrency < 1:
                    rej.append((desc, mem.reason or "does not fit"))
                    continue
                gpr = tp * pp
                for ep in expert_layouts(engine, model, tp, factors):  # memory is the same either way; the speed is not
                    desc = _describe(server, engine, tp, pp, ep)
                    shape = Shape(
                        key=f"{server.id}|{engine.id}|tp{tp}|pp{pp}" + (f"|ep{ep}" if ep > 1 else ""), server=server, gpu=gpu,
                        engine=engine, tp=tp, pp=pp,
                        gpus_per_replica=gpr, servers_per_replica=spr, replicas_per_server=0 if spr > 1 else server.gpu_count // gpr,
                        precision_path=path, precision_note=note, kv_precision=kv, feature_problem=None if feat.ok else feat.reason,
                        price_per_hour=price, kv_pool_gib=mem.kv_pool_gib, max_users_memory=mem.max_concurrency,
                        calibrated=exact, band=band_factors(factors, exact), ep=ep, running_cap=mem.running_cap, price_note=price_note)
                    if early:
                        why = shape_problem(shape, scenario)
                        if why:
                            cands.presolved.append((desc, why))
                            continue
                    if stop is not None and _hopeless(shape, scenario, peak):
                        continue
                    if not evaluate:
                        cands.shapes.append(shape)
                        continue
                    n = len(cands.options)
                    _add_options(cands, scenario, shape, factors, fab, mem.kv_per_sequence_gib, screen, memo, stop is not None)
                    if len(cands.options) > n:
                        cands.shapes.append(shape)
                    elif early:
                        cands.presolved.append((desc, "service targets: missed even with one user per replica"))
                    if stop is not None and stop(cands):
                        return cands
    return cands


def pricier_twins(catalog: Catalog, scenario: Scenario) -> dict[str, str]:
    """Servers another in-scope server always replaces (server id -> its twin): the same GPU, GPU count,
    interconnect and network — so the same shapes, memory and speed — at no lower price, where the twin
    has no stock limit.  Every configuration on such a server has a twin configuration that costs no
    more and is otherwise identical, so the front is the same without it (equal prices: the lower id
    is kept; where cost does not count, any price, the priced and cheapest first).  Catalogs that list
    one machine from many providers shrink the most."""
    priced = needs_price(scenario)
    groups: dict[tuple, list[tuple[float, str, Server]]] = {}
    for server in catalog.servers.values():
        if AllowedHardware.hardware_problem(catalog.gpus[server.gpu], server, scenario):
            continue
        price, _ = price_in(server, scenario.currency, catalog.pricing, catalog.exchange_rates if scenario.convert_prices else None)
        if price is not None or not priced:
            key = (server.gpu, server.gpu_count, server.interconnect, server.network)
            groups.setdefault(key, []).append((math.inf if price is None else price, server.id, server))
    out: dict[str, str] = {}
    for members in groups.values():
        members.sort(key=lambda m: (m[0], m[1]))
        best = next((m for m in members if m[2].stock is None), None)
        if best is None:
            continue
        for price, sid, _ in members:
            if (price, sid) > (best[0], best[1]):
                out[sid] = best[1]
    return out


def _hopeless(shape: Shape, sc: Scenario, peak: int) -> bool:
    """No replica count can meet max_servers, stock or the budget: even the fewest replicas memory allows are too many."""
    per_replica = min(peak, shape.max_users_memory)  # memory's count already stops at the engine's running cap
    return server_count_breaks(shape, shape.servers_for(math.ceil(peak / per_replica)), sc)


def shape_speed(model: LlmModel, scenario: Scenario, shape: Shape, factors: PerfFactors, fab,
                memo: dict[tuple, Any]) -> Callable[[int], Perf]:
    """The shape's speed at a load (users on one replica -> Perf), evaluated once per load and shared
    through `memo` by every shape with the same GPU, engine, layout and links (SKUs of one GPU share it)."""
    skey = ("speed", shape.gpu.id, shape.engine.id, links_of(fab, shape.tp, shape.pp), shape.tp, shape.pp, shape.ep,
            shape.precision_path, shape.kv_precision)
    entry = memo.get(skey)
    if entry is None:
        entry = memo[skey] = (ReplicaSpeed(model, shape.gpu, fab, scenario.precision, shape.precision_path == "native",
                                           shape.kv_precision, shape.tp, shape.pp, scenario.prompt_tokens,
                                           scenario.output_tokens, factors, shape.running_cap,
                                           shape.engine.mixes_prefill, token_budget(shape.engine, shape.gpu), shape.ep), {})
    speed, at_load = entry

    def perf(users: int) -> Perf:
        p = at_load.get(users)
        if p is None:
            p = at_load[users] = speed.at(users)
        return p

    return perf


def catalog_speed(model: LlmModel, scenario: Scenario, shape: Shape, catalog: Catalog, memo: dict[tuple, Any]) -> Callable[[int], Perf]:
    """shape_speed with the engine factors and fabric looked up in the catalog."""
    factors, _ = factors_for(catalog, shape.engine.id, shape.gpu, scenario.precision)
    return shape_speed(model, scenario, shape, factors, fabric_of(shape.server, shape.gpu), memo)


def _add_options(cands: Candidates, scenario: Scenario, shape: Shape, factors, fab, kv_seq_gib: float,
                 screen: bool, memo: dict[tuple, Any], search: bool = False) -> None:
    """Evaluate the shape at every replica count that matters into `cands`.

    Exact over replica counts: on a given number of servers, the most replicas they hold (each carrying
    fewer users) is at least as good on every metric as fewer replicas — the same cost, lower latency,
    higher throughput (r x f(U/r) grows with r for a concave per-replica throughput f) — so one option
    per server count, from the fewest servers that memory and the service targets allow up to the
    count that gives every user a replica of their own (bounded by max_servers, past which only the
    first count is kept, for the explanation).  A feasibility `search` skips, unevaluated, the counts
    whose servers or cost break max_servers, stock or the budget."""
    peak = cands.peak_users
    cap = min(peak, shape.max_users_memory)  # what memory holds, already at most the engine's running cap
    options: dict[int, Option] = {}
    perf = shape_speed(cands.model, scenario, shape, factors, fab, memo)

    def option(r: int) -> Option:
        """`r` replicas carrying the peak users between them (evaluated once)."""
        if r not in options:
            high, low, extra = even_split(peak, r)
            busiest = perf(high)
            total = extra * busiest.output_tokens_per_s + (r - extra) * perf(low).output_tokens_per_s
            options[r] = Option(shape=shape, users_per_replica=high, replicas=r, servers=shape.servers_for(r),
                                kv_need_gib=kv_seq_gib * shape.running(high), perf=busiest, total_tokens_per_s=total,
                                users=peak)
        return options[r]

    fewest = math.ceil(peak / cap)  # replicas memory needs
    if fewest > 1 and screen:  # fewer replicas are never built: each would break the engine's running cap or VRAM fit
        engine_bound = shape.running_cap is not None and shape.running_cap <= shape.max_users_memory
        cands.blocked.add(frozenset({"users_served" if engine_bound else "vram_fit"}) | shape_breaks(shape, scenario))
    if service_active(scenario):
        cands.single_user.append(option(peak))
        first = service_breaks(option(peak), scenario)
        if first and screen:  # TPOT, TTFT and per-user speed only worsen with the load: no count can meet them
            cands.blocked.add(first | shape_breaks(shape, scenario))
            cands.screened_shapes += 1
            return
        if not first:  # the fewest replicas meeting the service targets (they only improve with more)
            lo, hi = fewest, peak
            while lo < hi:
                mid = (lo + hi) // 2
                if service_breaks(option(mid), scenario):
                    lo = mid + 1
                else:
                    hi = mid
            if lo > fewest and screen:
                cands.blocked.add(service_breaks(option(lo - 1), scenario) | shape_breaks(shape, scenario))
                cands.screened_counts += lo - fewest
                fewest = lo
    first_servers, last_servers = shape.servers_for(fewest), shape.servers_for(peak)
    top = min(last_servers, max(scenario.max_servers, first_servers))
    step = shape.servers_per_replica if shape.spans_servers else 1
    for s in range(first_servers, top + 1, step):
        if search and server_count_breaks(shape, s, scenario):
            continue
        cands.options.append(option(max(fewest, min(shape.replicas_in(s), peak))))
