"""gpuplan: which GPU configuration to rent or buy to serve an LLM, and what it costs and delivers.

Python API::

    from solver import load_catalog, solve
    from solver.schema.scenario import Scenario

    plan = solve(Scenario(model="llama-3.3-70b", context_tokens=8192, precision="fp8", users=50), load_catalog())
    plan.front        # list of configuration dicts (cost_per_hour, output_tokens_per_s, tpot_ms, ...)
    plan.as_dict()    # what `gpuplan solve --format json` prints
"""

from solver.catalog import Catalog, load_catalog
from solver.plan import Plan, solve

__all__ = ["Catalog", "Plan", "load_catalog", "solve"]
