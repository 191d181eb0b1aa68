"""How a server's hourly cost is computed: rental price, or purchase amortised plus power (what-if)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from solver.schema.hardware import Server


class PricingPolicy(BaseModel):
    """Catalog section `pricing` (one entry, id `default`); absent = rent at catalog prices."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field("default", description="always 'default'")
    mode: Literal["rent", "buy"] = Field("rent", description="rent: catalog hourly prices; buy: purchase amortised + power")
    amortisation_years: float | None = Field(None, gt=0, le=20, description="buy: years over which a server is paid off")
    pue: float | None = Field(None, ge=1, le=3, description="buy: data-centre power usage effectiveness")
    electricity_price_per_kwh: float | None = Field(None, ge=0, description="buy: in `currency` per kWh")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="buy: currency of purchase and power prices")
    factors_by_gpu: dict[str, float] = Field(default_factory=dict, description="price multipliers per GPU id, e.g. {h100-sxm-80gb: 0.8}")
    factors_by_server: dict[str, float] = Field(default_factory=dict, description="price multipliers per server id")
    factors_by_provider: dict[str, float] = Field(default_factory=dict, description="price multipliers per provider")
    source: list[str] = Field(default_factory=lambda: ["what-if assumption"], description="where the numbers come from")

    @model_validator(mode="after")
    def _buy_needs_inputs(self) -> PricingPolicy:
        if self.mode == "buy":
            missing = [k for k in ("amortisation_years", "pue", "electricity_price_per_kwh", "currency") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"buy mode needs {', '.join(missing)}")
        for table in (self.factors_by_gpu, self.factors_by_server, self.factors_by_provider):
            for k, v in table.items():
                if v <= 0:
                    raise ValueError(f"price factor for {k} must be > 0 (got {v})")
        return self


HOURS_PER_YEAR = 8760


def hourly_price(server: Server, currency: str, policy: PricingPolicy | None) -> float | None:
    """Rent: the catalog price if it is in `currency`.  Buy: purchase / (years x 8760 h) + power x PUE x
    electricity price, when the server has a purchase price and a power draw in that currency."""
    factor = 1.0
    if policy is not None:
        factor = (policy.factors_by_server.get(server.id, 1.0) * policy.factors_by_gpu.get(server.gpu, 1.0)
                  * policy.factors_by_provider.get(server.provider, 1.0))
    if policy is None or policy.mode == "rent":
        if server.price is None or server.price.currency != currency:
            return None
        return server.price.amount_per_hour * factor
    if policy.currency != currency or server.purchase is None or server.power_kw is None:
        return None
    if server.purchase.currency != currency:
        return None
    capex = server.purchase.amount * factor / (policy.amortisation_years * HOURS_PER_YEAR)
    power = server.power_kw * policy.pue * policy.electricity_price_per_kwh
    return capex + power
