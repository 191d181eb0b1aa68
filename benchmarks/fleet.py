"""The fleet planner at scale, and what planning together saves.

Usage: python benchmarks/fleet.py [--sizes 10,20,50,100,200] [--portfolios 20] [--currency USD|EUR] [--out ...]

`--currency EUR` is the tight case: the catalog's EUR prices are OVHcloud's alone (15 SKUs), each
stocked at 4 new servers, so the workloads compete for little stock (results/fleet_eur.json).

1. Scale: generated platform workloads over the full built-in catalog in USD (the 45 servers priced in
   USD, 10 providers), with stock limits (every OVHcloud and Lambda SKU: 4 new servers; the others
   unlimited), solved with `plan_fleet`'s model (one point, mixing allowed): time,
   status (optimal, or feasible with its gap), variables and constraints, per portfolio size.
   Pool enumeration (per workload, independent of the others) is timed apart.
   Targets: 100 workloads optimal or gap <= 1% within 60 s; 20 workloads within 5 s (2 cores).
2. Savings over `--portfolios` portfolios of 10 workloads: the fleet's cost against the sum of each
   workload's cheapest answer alone (one shape, same catalog and stock, `solve --objective cost`;
   each alone may take all the stock, so under stock limits that sum can be below any possible
   plan), the same without stock limits (what sharing servers saves), and mixed pools (up to 2
   shapes) against none, under the stock; the distribution, not one case.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from solver.plan.fleet import _alone, solve_problem  # noqa: E402
from solver.plan.fleet_model import FleetModel  # noqa: E402
from solver.plan.fleet_problem import FleetProblem, Workload, drop_dominated_skus, make_skus  # noqa: E402
from solver.plan.planner import prepare  # noqa: E402
from solver.plan.pools import workload_pools  # noqa: E402
from solver.plan.scaling import COST_SCALE  # noqa: E402
from solver.schema.catalog import load_catalog  # noqa: E402
from solver.schema.inventory import Holding, Inventory  # noqa: E402
from solver.schema.scenario import Scenario  # noqa: E402

STOCKED = ("ovhcloud", "lambda")  # providers whose SKUs get a stock limit
MODELS = ["llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "llama-3.1-8b", "qwen3-8b", "mistral-7b-v0.3", "gemma-3-12b",
          "qwen3-14b", "mistral-small-3-24b", "gemma-3-27b", "qwen3-32b", "qwen3-30b-a3b", "gpt-oss-20b", "llama-3.3-70b",
          "llama-3.3-70b", "qwen2.5-72b", "gpt-oss-120b"]


def workload_fields(rng: random.Random, i: int, currency: str = "USD") -> dict:
    f = {"id": f"w{i:03d}", "model": rng.choice(MODELS), "precision": rng.choice(["bf16", "fp8", "fp8"]),
         "users": rng.choice([2, 5, 10, 20, 40, 80, 150, 300]), "context_tokens": rng.choice([4096, 8192, 8192, 32768]),
         "output_tokens": rng.choice([256, 512]), "min_tokens_per_s_per_user": rng.choice([10, 20, 20, 30]), "currency": currency}
    f["input_tokens"] = min(f["context_tokens"] - f["output_tokens"], rng.choice([500, 1500, 4000]))
    if rng.random() < 0.3:
        f["max_ttft_ms"] = rng.choice([2000, 5000])
    return f


def pools_for(fields: list[dict], cat) -> tuple[list[Workload], list[float]]:
    out, times = [], []
    for f in fields:
        t0 = time.perf_counter()
        sc, model, _ = prepare(Scenario(**f), cat)
        wp = workload_pools(sc, cat, model)
        times.append(time.perf_counter() - t0)
        if wp.pools:
            out.append(Workload(len(out), f["id"], wp))
    return out, times


def problem(wls: list[Workload], cat, inv: Inventory, max_shapes: int) -> FleetProblem:
    wls = [Workload(i, w.id, w.pools) for i, w in enumerate(wls)]
    p = FleetProblem(wls, make_skus(wls, cat, inv, inv.currency), inv.currency, inv.budget, inv.power_limit_kw, max_shapes)
    drop_dominated_skus(p)  # as plan_fleet does
    return p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,20,50,100,200")
    ap.add_argument("--portfolios", type=int, default=20)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--currency", choices=["USD", "EUR"], default="USD")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.out = args.out or str(ROOT / "benchmarks" / "results" / ("fleet.json" if args.currency == "USD" else "fleet_eur.json"))
    stocked = STOCKED if args.currency == "USD" else ("ovhcloud",)
    cat = load_catalog()
    inv = Inventory(currency=args.currency, servers=[Holding(server=s.id, stock=4) for s in cat.servers.values()
                                                     if s.provider in stocked and s.price is not None and s.price.currency == args.currency])
    sizes = [int(x) for x in args.sizes.split(",")]
    rng = random.Random(0)
    fields = [workload_fields(rng, i, args.currency) for i in range(max(sizes) + 20)]  # spares replace workloads no GPU can serve
    wls, ptimes = pools_for(fields, cat)
    # a workload no configuration serves alone under the stock (e.g. 300 users of a 70B model at 30 tokens/s
    # past max_servers) is replaced by a spare: the scale runs measure portfolios that can be served
    probe = problem(wls, cat, inv, 1)
    wls = [w for i, w in enumerate(wls) if _alone(probe, i, args.time_limit) is not None]
    scale = []
    for n in sizes:
        p = problem(wls[:n], cat, inv, 2)
        t0 = time.perf_counter()
        # as plan_fleet: every workload served, else (proven impossible or not found in time) the most users
        points, st = solve_problem(p, 1, args.time_limit, args.workers)
        ans = points[0][0] if points else None
        dt = time.perf_counter() - t0
        row = {"workloads": n, "all_served": st.served_proven is None, "serve_everyone": st.all_served_status,
               "users": sum(w.users for w in p.workloads),
               "users_served": st.served_users, "most_served_proven": st.served_proven, "status": st.status, "gap_pct": None if st.gap is None else round(100 * st.gap, 3),
               "seconds": round(dt, 2), "variables": st.variables, "constraints": st.constraints,
               "pool_shapes": sum(len(w.shapes) for w in p.workloads), "cost_per_hour": None if ans is None else round(ans.cost_int(p) / COST_SCALE, 2)}
        scale.append(row)
        print(json.dumps(row), flush=True)
    savings, packing, mixing = [], [], []
    no_stock = Inventory(currency=args.currency)
    for k in range(args.portfolios):
        r = random.Random(1000 + k)
        pick = r.sample(wls, 10)
        p2 = problem(pick, cat, inv, 2)
        p1 = problem(pick, cat, inv, 1)
        a2, _ = FleetModel(p2).solve_point(time_limit_s=args.time_limit, workers=args.workers)
        a1, _ = FleetModel(p1).solve_point(time_limit_s=args.time_limit, workers=args.workers)
        alone = [_alone(p1, w, args.time_limit) for w in range(len(pick))]
        if a1 is not None and None not in alone:  # each alone may use all the stock: their sum need not be possible
            fleet1 = a1.cost_int(p1) / COST_SCALE
            savings.append(100 * (1 - fleet1 / sum(alone)))
        q1 = problem(pick, cat, no_stock, 1)  # without stock limits: what sharing servers alone saves
        b1, _ = FleetModel(q1).solve_point(time_limit_s=args.time_limit, workers=args.workers)
        alone_free = [_alone(q1, w, args.time_limit) for w in range(len(pick))]
        if b1 is not None and None not in alone_free:
            packing.append(100 * (1 - (b1.cost_int(q1) / COST_SCALE) / sum(alone_free)))
        if a1 is not None and a2 is not None:
            mixing.append(100 * (1 - (a2.cost_int(p2) / COST_SCALE) / (a1.cost_int(p1) / COST_SCALE)))
        elif a2 is not None:
            mixing.append(None)  # only the mix serves the portfolio under the stock

    def dist(xs: list[float]) -> dict:
        xs = sorted(x for x in xs if x is not None)
        if not xs:
            return {}
        q = lambda f: round(xs[min(len(xs) - 1, int(f * len(xs)))], 2)  # noqa: E731
        return {"n": len(xs), "min": round(xs[0], 2), "p10": q(0.1), "median": round(statistics.median(xs), 2), "p90": q(0.9),
                "max": round(xs[-1], 2), "share_positive": round(sum(x > 1e-9 for x in xs) / len(xs), 3)}

    result = {"catalog_servers": len(cat.servers), "currency": args.currency,
              "stock": f"4 new servers per {' and '.join(stocked)} SKU priced in {args.currency}, the other {args.currency}-priced SKUs unlimited",
              "workers": args.workers, "time_limit_s_deterministic": args.time_limit,
              "pools_per_workload_s": {"median": round(statistics.median(ptimes), 3), "max": round(max(ptimes), 3)},
              "scale": scale,
              "saving_vs_alone_pct": dist(savings),
              "saving_vs_alone_no_stock_pct": dist(packing),
              "saving_mixed_vs_one_shape_pct": dist(mixing),
              "portfolios_only_mix_serves": sum(1 for x in mixing if x is None)}
    print(json.dumps({k: v for k, v in result.items() if k != "scale"}, indent=1))
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
