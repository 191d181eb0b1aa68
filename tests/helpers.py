"""Test helpers: sub-catalogs built from the real one (no mocks)."""

from __future__ import annotations

from solver.plan.planner import Plan, solve
from solver.schema.catalog import Catalog
from solver.schema.scenario import Scenario


def sub_catalog(base: Catalog, servers: list[str], engines: list[str] | None = None, updates: dict | None = None) -> Catalog:
    updates = updates or {}
    srv = [base.servers[s].model_copy(update=updates.get(s, {})) for s in servers]
    eng = [base.engines[e] for e in (engines or list(base.engines))]
    return Catalog(list(base.gpus.values()), srv, eng, list(base.models.values()), list(base.calibration.values()), base.files,
                   [base.pricing] if base.pricing else None)


def with_entries(base: Catalog, gpus: tuple = (), calibration: tuple = ()) -> Catalog:
    """`base` with these GPU entries in place of theirs (same id) and these calibration entries added."""
    return Catalog(list({**base.gpus, **{g.id: g for g in gpus}}.values()), list(base.servers.values()),
                   list(base.engines.values()), list(base.models.values()), [*base.calibration.values(), *calibration],
                   base.files, [base.pricing] if base.pricing else None)


def plan(catalog: Catalog, base: dict | None = None, **fields) -> Plan:
    return solve(Scenario(**{**(base or {}), **fields}), catalog)
