"""Where a batch row's time goes: generated scenarios solved in one process, time per phase.

Wraps the planner's phases with timers (candidate evaluation, dominance reduction, CP-SAT solves of
the fronts by number of objectives, explanation of infeasible rows) and runs
`solver.io.batch.solve_chunk` on the same generated rows as benchmarks/batch.py.  Prints and saves JSON.

Usage: python benchmarks/batch_phases.py [--n 1000] [--out benchmarks/results/batch_phases.json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "batch_phases.json"))
    args = ap.parse_args()

    from ortools.sat.python import cp_model

    import solver.plan.dominance as dominance
    import solver.plan.explain as explain
    import solver.plan.pareto as pareto
    import solver.plan.planner as plan
    from benchmarks.batch import write_csv
    from solver.io.batch import solve_chunk

    secs: Counter = Counter()
    counts: Counter = Counter()
    front_kind: list[str | None] = [None]

    def timed(mod, name: str, key: str) -> None:
        f = getattr(mod, name)

        def g(*a, **k):
            t = time.perf_counter()
            r = f(*a, **k)
            secs[key] += time.perf_counter() - t
            counts[key] += 1
            return r

        setattr(mod, name, g)

    def front_start(f):
        def g(pm, objectives, *a, **k):
            front_kind[0] = f"{len(objectives)}_objectives"
            try:
                r = f(pm, objectives, *a, **k)
            finally:
                front_kind[0] = None
            counts[f"{len(objectives)}_objectives_fronts"] += 1
            counts[f"{len(objectives)}_objectives_points"] += len(r)
            return r
        return g

    solve = cp_model.CpSolver.Solve

    def solve_timed(self, m, *a, **k):
        t = time.perf_counter()
        r = solve(self, m, *a, **k)
        key = f"cpsat_solves_{front_kind[0] or 'explanation'}"
        secs[key] += time.perf_counter() - t
        counts[key] += 1
        return r

    cp_model.CpSolver.Solve = solve_timed
    pareto.exact_front = front_start(pareto.exact_front)
    timed(dominance, "prune_dominated", "dominance_reduction")
    timed(dominance, "prune_for_front", "objective_space_reduction")
    timed(plan, "enumerate_candidates", "candidate_evaluation")
    timed(explain, "explain", "explanation")

    buf = Path(ROOT / "benchmarks" / "results" / "batch_work")
    buf.mkdir(parents=True, exist_ok=True)
    src = buf / f"phases_{args.n}.csv"
    write_csv(src, args.n)
    rows = list(csv.reader(io.StringIO(src.read_text())))
    header, body = rows[0], rows[1:]
    t0 = time.perf_counter()
    results = solve_chunk(header, [(i, r, None) for i, r in enumerate(body)], ())
    total = time.perf_counter() - t0
    status = Counter(r[2] for r in results)
    report = {
        "rows": len(body),
        "status": dict(sorted(status.items())),
        "seconds_total": round(total, 2),
        "ms_per_row": round(1e3 * total / len(body), 2),
        "seconds": {k: round(v, 2) for k, v in sorted(secs.items())},
        "calls": dict(sorted(counts.items())),
        "note": "one process, no output writing; phases overlap: explanation includes its own CP-SAT solves and enumerations",
    }
    print(json.dumps(report, indent=2))
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
