"""Planning: from a scenario and the catalog to the exact Pareto front of configurations.

`options` (shapes and replica counts), `candidates` (their enumeration, each evaluated by
solver.predict), `families` (one class per constraint family: a plain-Python rule and its CP-SAT
encoding), `variables` and `cpsat_model` (the model), `pareto` (the exact front), `dominance` (the
reduction before it), `explain` (why nothing fits), `validate` (solver-free check of every answer),
`bruteforce` (the test oracle), `planner` (solve: the stages together).  Depends on solver.predict
and solver.schema; docs/planner.md states the formulation.
"""
