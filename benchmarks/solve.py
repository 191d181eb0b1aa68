"""Time per scenario of `gpuplan solve` (full front, built-in catalog), split into candidate evaluation
and CP-SAT (dominance reduction + model + Pareto loop), and the same for the brute-force oracle.

Usage: python benchmarks/solve.py [--n 200] [--duplicate 8] [--out benchmarks/results/solve.json]
Prints p50/p99 (ms) and saves them as JSON.  Targets: p50 <= 30 ms, p99 <= 300 ms; with the catalog's
servers duplicated 8x (`--duplicate 8`: each server 8 times, the copies priced 2%, 4%, ... higher, as
other providers of the same machine would be), p99 <= 500 ms.  Brute force is skipped with --duplicate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scenarios_gen import generate  # noqa: E402
from solver.plan.bruteforce import front_vectors  # noqa: E402
from solver.plan.candidates import enumerate_candidates  # noqa: E402
from solver.plan.planner import prepare, solve  # noqa: E402
from solver.schema.catalog import load_catalog  # noqa: E402
from solver.schema.scenario import Scenario  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1)


def duplicated(cat, times: int):
    """The catalog with each server `times` times (copy i priced 2 i % higher; stock and owned unchanged)."""
    from solver.schema.catalog import Catalog

    servers = []
    for s in cat.servers.values():
        servers.append(s)
        for i in range(1, times):
            upd = {"id": f"{s.id}~{i}"}
            if s.price is not None:
                upd["price"] = s.price.model_copy(update={"amount_per_hour": round(s.price.amount_per_hour * (1 + 0.02 * i), 4)})
            servers.append(s.model_copy(update=upd))
    return Catalog(list(cat.gpus.values()), servers, list(cat.engines.values()), list(cat.models.values()),
                   list(cat.calibration.values()), cat.files, [cat.pricing] if cat.pricing else None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--duplicate", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cat = load_catalog()
    if args.duplicate > 1:
        cat = duplicated(cat, args.duplicate)
    args.out = args.out or str(ROOT / "benchmarks" / "results" / ("solve.json" if args.duplicate == 1 else f"solve_x{args.duplicate}.json"))
    solve(Scenario(model="llama-3.1-8b", users=4), cat)  # warm-up: imports ortools once
    total, evals, cps, brute, statuses, fronts, feas, infeas, expl = [], [], [], [], [], [], [], [], []
    for f in generate(args.n):
        sc = Scenario(**f)
        t0 = time.perf_counter()
        plan = solve(sc, cat, validate=False)
        t1 = time.perf_counter()
        total.append(1e3 * (t1 - t0))
        (feas if plan.status == "ok" else infeas).append(1e3 * (t1 - t0))
        if plan.status != "ok":
            expl.append(plan.stats.get("explanation_ms", 0.0))
        evals.append(plan.stats["evaluation_ms"])
        cps.append(plan.stats["cpsat_ms"])
        statuses.append(plan.status)
        fronts.append(len(plan.front))
        if args.duplicate > 1:
            continue
        p, model, _ = prepare(sc, cat)
        t2 = time.perf_counter()
        front_vectors(enumerate_candidates(p, cat, model, screen=False).options, p)
        brute.append(1e3 * (time.perf_counter() - t2))
    report = {
        "scenarios": args.n,
        "feasible": statuses.count("ok"),
        "mean_front_size": round(statistics.mean(fronts), 2),
        "solve_ms": {"p50": pct(total, 0.5), "p99": pct(total, 0.99), "mean": round(statistics.mean(total), 1)},
        "solve_ms_feasible": {"n": len(feas), "p50": pct(feas, 0.5), "p99": pct(feas, 0.99)},
        "solve_ms_infeasible_with_explanation": {"n": len(infeas), "p50": pct(infeas, 0.5), "p99": pct(infeas, 0.99)},
        "explanation_ms": {"p50": pct(expl, 0.5), "p99": pct(expl, 0.99)} if expl else None,
        "candidate_evaluation_ms": {"p50": pct(evals, 0.5), "p99": pct(evals, 0.99)},
        "cpsat_ms": {"p50": pct(cps, 0.5), "p99": pct(cps, 0.99)},
        "brute_force_ms": {"p50": pct(brute, 0.5), "p99": pct(brute, 0.99)} if brute else None,
        "catalog_servers": len(cat.servers),
        "targets": {"p50_ms": 30, "p99_ms": 300} if args.duplicate == 1 else {"p99_ms": 500},
        "note": "validation of the answers excluded (it is on by default in `gpuplan solve`); one CP-SAT worker",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
