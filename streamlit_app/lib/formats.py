"""How numbers read on the dashboards: exact decimals from the warehouse, rounded only for the
eye (quantities as they are, money to the cent with its currency, rates as percentages)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

NONE = "—"
CENT = Decimal("0.01")


def decimal(value: Any) -> Decimal | None:
    """The value as an exact Decimal; None for a missing value (None, NaN, NA)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def qty(value: Any) -> str:
    """A quantity as it is, without trailing zeros: 1,234.5"""
    found = decimal(value)
    if found is None:
        return NONE
    return f"{found.normalize():,f}"


def money(value: Any, currency: str | None = None) -> str:
    """An amount to the cent with its currency: EUR 1,234.56"""
    found = decimal(value)
    if found is None:
        return NONE
    amount = f"{found.quantize(CENT, ROUND_HALF_UP):,}"
    return f"{currency} {amount}" if currency else amount


def ratio(value: Any, places: int = 2) -> str:
    """A plain ratio (turnover): 0.17"""
    found = decimal(value)
    if found is None:
        return NONE
    return f"{found.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP):,}"


def percent(value: Any, places: int = 1) -> str:
    """A rate given as a fraction, as a percentage: 0.1155 → 11.6 %"""
    found = decimal(value)
    if found is None:
        return NONE
    return f"{(found * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)} %"


def signed(text: str) -> str:
    """A delta with its sign shown: st.metric reads the direction from a leading minus."""
    return text if text.startswith(("-", NONE)) else f"+{text}"


def divide(numerator: Any, denominator: Any) -> Decimal | None:
    """numerator / denominator, exact to 28 digits; None when there is nothing to divide by."""
    top, bottom = decimal(numerator), decimal(denominator)
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


def difference(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    if current is None or previous is None:
        return None
    return current - previous
