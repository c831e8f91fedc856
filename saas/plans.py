"""Plans, defined in one place: extra users included and the yearly price of one more."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    extra_users_included: int
    # Yearly price of one extra user, before tax, per currency.
    extra_user_price: dict[str, Decimal] = field(default_factory=dict)
    # Tax rate per currency (IVA 16% in Mexico, 19% in Colombia, IVA 22% in Italy).
    tax_rate: dict[str, Decimal] = field(default_factory=dict)
    delete_releases_seat: bool = False


_PRICES = {"MXN": Decimal("249.00"), "COP": Decimal("59000"), "EUR": Decimal("15.00")}
_TAXES = {"MXN": Decimal("0.16"), "COP": Decimal("0.19"), "EUR": Decimal("0.22")}

PLANS = {
    plan.code: plan
    for plan in (
        Plan("basic", "Básico", 0, _PRICES, _TAXES),
        Plan("pyme", "PyME", 1, _PRICES, _TAXES),
        Plan("empresa", "Empresa", 1, _PRICES, _TAXES),
    )
}
