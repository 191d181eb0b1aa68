"""gpuplan: which GPU configuration to rent or buy to serve an LLM, and what it costs and delivers.

The package is laid out by stage, dependencies pointing one way (cli -> io -> plan -> predict -> schema):
`solver.schema` (typed catalog and scenario, loading), `solver.predict` (memory, speed, the estimate
of one configuration, calibration), `solver.plan` (candidates, constraint families, the CP-SAT model,
Pareto front, explanation, validator, brute-force oracle), `solver.io` (scenario files, batch,
what-if, reports), `solver.cli`.

Python API::

    from solver import Scenario, estimate, load_catalog, plot_front, solve

    plan = solve({"model": "llama-3.3-70b", "context_tokens": 8192, "precision": "fp8", "users": 50})
    plan = solve(Scenario(model="llama-3.3-70b", users=50), load_catalog(["overlay.yaml"]))  # with an overlay
    plan.recommendation   # one configuration in words, its launch command, assumptions, unverified facts
    plan.front            # the configurations shown (full_front=True: all), dicts of cost_per_hour, tpot_ms, ...
    plan.to_frame()       # the same as a pandas DataFrame; in a notebook the plan shows itself as a table
    plot_front(plan, "front.png")                 # the front on a log cost axis, the recommendation starred
    plan.as_dict()        # what `gpuplan solve --format json` prints

    est = estimate("llama-3.1-70b", "h100-sxm", tp=4, precision="fp8", engine="vllm", concurrency=16)
    est.as_dict()     # what `gpuplan estimate --json` prints (see solver.predict.estimate.estimate_named)
"""

from solver.io.plots import plot_front
from solver.plan.planner import Plan, solve
from solver.predict.estimate import Estimate
from solver.predict.estimate import estimate_named as estimate
from solver.schema.catalog import Catalog, load_catalog
from solver.schema.scenario import Scenario

__all__ = ["Catalog", "Estimate", "Plan", "Scenario", "estimate", "load_catalog", "plot_front", "solve"]
