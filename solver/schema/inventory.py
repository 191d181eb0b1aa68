"""What a fleet may use: servers owned and in stock per SKU, and the fleet's budget and power limits.

An inventory file (YAML) is the fleet planner's counterpart of a catalog overlay's `stock`:

    currency: EUR                  # of budgets and owned servers' running cost (default: EUR)
    budget_per_hour: 120           # or budget_per_month; optional
    power_limit_kw: 40             # optional: the servers' summed draw
    servers:
      - {server: ovh-h100-1520, owned: 2}            # owned: usable at owned_cost_per_hour (default 0)
      - {server: ovh-h100-760, stock: 3}             # stock: at most 3 more to rent (or buy)
      - {server: lambda-b200-8, owned: 1, stock: 0, owned_cost_per_hour: 9.5}

A SKU not listed may be rented without limit (or up to its catalog `stock`); a listed SKU without
`stock` also has no limit on new servers.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from solver.errors import GpuplanError, suggestion
from solver.schema.pricing import HOURS_PER_MONTH
from solver.schema.yaml_file import read_yaml


class InventoryError(GpuplanError):
    """A malformed inventory file (exit 2)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Holding(_Strict):
    server: str = Field(description="catalog server id")
    owned: int = Field(0, ge=0, le=100_000, description="servers already owned (no rental price)")
    stock: int | None = Field(None, ge=0, le=100_000, description="new servers that can be had; None = no limit")
    owned_cost_per_hour: float = Field(0.0, ge=0, le=1e6, description="running cost of an owned server in use, per hour")


class Inventory(_Strict):
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$", description="currency of the budget and owned servers' cost")
    budget_per_hour: float | None = Field(None, gt=0, le=1e9, description="the fleet's budget, per hour")
    budget_per_month: float | None = Field(None, gt=0, le=1e12, description="the fleet's budget, per month (730 h)")
    power_limit_kw: float | None = Field(None, gt=0, le=1e7, description="the servers' summed power draw, kW")
    servers: list[Holding] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_budget(self) -> Inventory:
        if self.budget_per_hour is not None and self.budget_per_month is not None:
            raise ValueError("give budget_per_hour or budget_per_month, not both")
        seen: set[str] = set()
        for h in self.servers:
            if h.server in seen:
                raise ValueError(f"server {h.server} is listed twice")
            seen.add(h.server)
        return self

    @property
    def budget(self) -> float | None:
        """Per hour."""
        if self.budget_per_month is not None:
            return self.budget_per_month / HOURS_PER_MONTH
        return self.budget_per_hour

    def holding(self, server_id: str) -> Holding | None:
        return next((h for h in self.servers if h.server == server_id), None)


def load_inventory(path: str | Path, server_ids: list[str]) -> Inventory:
    """Read and check an inventory file; errors name the file, the entry and the field, and suggest
    the nearest valid value."""
    p = Path(path)
    data = read_yaml(p, InventoryError)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InventoryError(f"{p}: an inventory is a mapping (currency, budget_per_hour, power_limit_kw, servers)")
    if isinstance(data.get("currency"), str):
        data["currency"] = data["currency"].upper()
    try:
        inv = Inventory.model_validate(data)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            loc = list(e["loc"])
            where = f"{p}"
            if loc[:1] == ["servers"] and len(loc) > 1 and isinstance(loc[1], int):
                entry = (data.get("servers") or [None] * (loc[1] + 1))[loc[1]]
                name = entry.get("server") if isinstance(entry, dict) else None
                where += f": servers[{loc[1]}]" + (f" ({name})" if name else "")
                loc = loc[2:]
            field = ".".join(str(x) for x in loc) or "(entry)"
            if e["type"] == "extra_forbidden":
                valid = list(Holding.model_fields) if "servers" in str(e["loc"]) else list(Inventory.model_fields)
                lines.append(f"{where}: unknown field '{field}'.{suggestion(str(e['loc'][-1]), valid)}")
            else:
                got = "" if e["type"] == "missing" else f" (got {e.get('input')!r})"
                lines.append(f"{where}: {field}: {e['msg'].removeprefix('Value error, ')}{got}")
        raise InventoryError("\n".join(lines)) from None
    for i, h in enumerate(inv.servers):
        if h.server not in server_ids:
            raise InventoryError(f"{p}: servers[{i}]: server: unknown server '{h.server}'.{suggestion(h.server, server_ids)}")
    return inv
