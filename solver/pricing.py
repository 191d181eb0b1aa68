"""One place that turns a server into an hourly cost in the scenario's currency (or None: unknown)."""

from __future__ import annotations

from solver.schema.hardware import Server
from solver.schema.pricing import PricingPolicy

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
