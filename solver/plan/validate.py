"""Re-check a returned configuration from scratch, without the solver (no ortools import).

The configuration is rebuilt from its identity (server, engine, TP, PP, replicas): compatibility
rules, memory and speed are recomputed by the estimate model, every constraint family's Python rule
is applied, the packaging arithmetic is redone, and the reported metrics must match the recomputation.
"""

from __future__ import annotations

import math

from solver.plan.families import violations
from solver.plan.options import Option, Shape, even_split
from solver.predict import compat
from solver.schema.catalog import Catalog
from solver.schema.llm import LlmModel
from solver.schema.pricing import price_in
from solver.schema.scenario import Scenario

REL_TOL = 1e-6


def rebuild(config: dict, sc: Scenario, catalog: Catalog, model: LlmModel) -> tuple[Option | None, list[str]]:
    from solver.predict.estimate import band_factors, estimate

    problems: list[str] = []
    server = catalog.servers[config["server"]]
    gpu = catalog.gpus[server.gpu]
    engine = catalog.engines[config["engine"]]
    tp, pp, replicas, ep = config["tp"], config["pp"], config["replicas"], config.get("ep", 1)
    if config["gpu"] != gpu.id:
        problems.append(f"GPU {config['gpu']} is not what {server.id} carries ({gpu.id})")
    gpr = tp * pp
    spans = gpr > server.gpu_count
    if spans and gpr % server.gpu_count:
        problems.append(f"a replica of {gpr} GPUs does not take whole servers of {server.gpu_count}")
    kv = compat.kv_precision_for(engine, gpu, sc.precision, sc.kv_precision)
    if config.get("kv_precision") != kv.value:
        problems.append(f"KV cache {config.get('kv_precision')}: {engine.name} on {gpu.id} keeps {kv.value} for this scenario")
    for v in (compat.engine_runs(engine, gpu), compat.kv_precision_ok(engine, gpu, kv),
              compat.parallelism_ok(engine, model, tp, pp, spans)):
        if not v.ok:
            problems.append(v.reason)
    if ep > 1 and not engine.parallelism.expert_parallel:
        problems.append(f"{engine.name} has no expert parallelism (EP {ep})")
    path, note = compat.precision_path(engine, gpu, sc.precision)
    if path == "unsupported":
        problems.append(note)
    users, low, extra = even_split(sc.peak_users, replicas)  # the busiest replica's users, the others', how many busier
    est = estimate(catalog, model, gpu, engine, sc.precision, kv, tp, pp, sc.prompt_tokens, sc.output_tokens,
                   users, sc.context_tokens, server, sc.memory_rule, expert_parallel=ep)
    if est.memory is None or est.perf is None:
        problems.append(f"the estimate model cannot run it: {est.reason}")
        return None, problems
    mem1 = est.memory
    spr = gpr // server.gpu_count if spans else 1
    rps = 0 if spans else server.gpu_count // gpr
    servers = replicas * spr if spans else math.ceil(replicas / rps)
    if config["servers"] != servers:
        problems.append(f"packaging: {replicas} replicas of {gpr} GPUs need {servers} servers of {server.gpu_count}, not {config['servers']}")
    price, _ = price_in(server, sc.currency, catalog.pricing, catalog.exchange_rates if sc.convert_prices else None)
    feat = compat.features_ok(engine, gpu, sc.features)
    from solver.predict.attainable import factors_for

    factors, exact = factors_for(catalog, engine.id, gpu, sc.precision)
    # KV pool and memory capacity do not depend on the load; take them from the recomputed plan
    shape = Shape(key=f"{server.id}|{engine.id}|tp{tp}|pp{pp}" + (f"|ep{ep}" if ep > 1 else ""), server=server, gpu=gpu, engine=engine, tp=tp, pp=pp,
                  gpus_per_replica=gpr, servers_per_replica=spr, replicas_per_server=rps, precision_path=path,
                  precision_note=note, kv_precision=kv, feature_problem=None if feat.ok else feat.reason, price_per_hour=price,
                  kv_pool_gib=mem1.kv_pool_gib, max_users_memory=mem1.max_concurrency if mem1.max_concurrency else 0,
                  calibrated=exact, band=band_factors(factors, exact), ep=ep, running_cap=mem1.running_cap)
    total = extra * est.perf.output_tokens_per_s
    if replicas > extra:
        light = estimate(catalog, model, gpu, engine, sc.precision, kv, tp, pp, sc.prompt_tokens, sc.output_tokens,
                         low, sc.context_tokens, server, sc.memory_rule, expert_parallel=ep)
        total += (replicas - extra) * light.perf.output_tokens_per_s
    option = Option(shape=shape, users_per_replica=users, replicas=replicas, servers=servers,
                    kv_need_gib=mem1.kv_cache_gib, perf=est.perf, total_tokens_per_s=total, users=sc.peak_users)
    return option, problems


def _close(a: float | None, b: float | None, digits: int) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(round(b, digits) - a) <= max(REL_TOL * abs(b), 10 ** (-digits))


def validate_config(config: dict, sc: Scenario, catalog: Catalog, model: LlmModel) -> list[str]:
    """Problems with a configuration (empty list: it satisfies every constraint and its metrics are right)."""
    option, problems = rebuild(config, sc, catalog, model)
    if option is None:
        return problems
    problems += [f"{name}: {why}" for name, why in violations(option, sc)]
    checks = (("ttft_ms", option.perf.ttft_ms, 2), ("tpot_ms", option.perf.tpot_ms, 3),
              ("output_tokens_per_s", option.total_tokens_per_s, 2), ("cost_per_hour", option.cost("per_hour"), 4))
    for key, value, digits in checks:
        if not _close(config.get(key), value, digits):
            problems.append(f"reported {key}={config.get(key)} but recomputation gives {value}")
    if config.get("gpus") != option.gpus:
        problems.append(f"reported {config.get('gpus')} GPUs, recomputation gives {option.gpus}")
    return problems
