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
HOURS_PER_MONTH = 730  # 8760 h / 12


class ExchangeRate(BaseModel):
    """Catalog section `exchange_rates`: one unit of `from_currency` is `rate` units of `to_currency`
    (used both ways).  The built-in catalog has none — no stored source gives one — so an overlay
    brings the rate the user's finance team uses, with its date and source."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(description="'<FROM>-<TO>', e.g. USD-EUR")
    from_currency: str = Field(pattern=r"^[A-Z]{3}$")
    to_currency: str = Field(pattern=r"^[A-Z]{3}$")
    rate: float = Field(gt=0, le=1e6, description="units of to_currency per unit of from_currency")
    observed: str = Field(description="the date the rate applies to")
    source: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _id_names_the_pair(self) -> ExchangeRate:
        if self.id != f"{self.from_currency}-{self.to_currency}":
            raise ValueError(f"id must be '{self.from_currency}-{self.to_currency}' (got '{self.id}')")
        return self


def conversion(rates: dict[str, ExchangeRate], src: str, dst: str) -> tuple[float, ExchangeRate] | None:
    """(factor, the rate used) turning an amount in `src` into `dst`, or None without a rate."""
    if f"{src}-{dst}" in rates:
        r = rates[f"{src}-{dst}"]
        return r.rate, r
    if f"{dst}-{src}" in rates:
        r = rates[f"{dst}-{src}"]
        return 1 / r.rate, r
    return None


def price_in(server: Server, currency: str, policy: PricingPolicy | None,
             rates: dict[str, ExchangeRate] | None = None) -> tuple[float | None, str | None]:
    """(hourly price in `currency`, a note when it was converted): hourly_price in the server's own
    currency converted at `rates` when it is priced in another one."""
    own = hourly_price(server, currency, policy)
    if own is not None or not rates:
        return own, None
    price = server.price if policy is None or policy.mode == "rent" else None
    if price is None or price.currency == currency:
        return own, None
    conv = conversion(rates, price.currency, currency)
    if conv is None:
        return None, None
    factor, rate = conv
    native = hourly_price(server, price.currency, policy)
    note = (f"{server.id}: {native:.2f} {price.currency}/h converted at {factor:.4g} {currency}/{price.currency} "
            f"({rate.observed}, {rate.source[0]})")
    return native * factor, note


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
