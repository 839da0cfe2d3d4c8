"""Exact quantities and money: parsing, rounding and the fixed-scale integers they are stored as.

Quantities and unit costs keep six decimal places; amounts (values, cost deltas) are rounded to
the cent. Both are stored as integers of millionths, never as binary floats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ledger.errors import validation_error

SCALE = 1_000_000
QTY_STEP = Decimal("0.000001")
COST_STEP = Decimal("0.000001")
MONEY_STEP = Decimal("0.01")
ZERO = Decimal(0)
MAX_ABS = Decimal(9_000_000_000_000)  # fits a signed 64-bit integer of millionths


def parse_decimal(value: object, field: str) -> Decimal:
    """A decimal from a JSON value: a string or an integer, never a binary float."""
    if isinstance(value, bool) or value is None:
        raise validation_error(field, "must be a decimal number")
    if isinstance(value, float):
        raise validation_error(field, "must be a decimal string or an integer, not a binary float")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise validation_error(field, f"{value!r} is not a decimal number") from None
    else:
        raise validation_error(field, "must be a decimal number")
    if not number.is_finite():
        raise validation_error(field, "must be a finite decimal number")
    if abs(number) > MAX_ABS:
        raise validation_error(field, "is out of range")
    return number


def parse_quantity(value: object, field: str) -> Decimal:
    number = parse_decimal(value, field)
    if number != number.quantize(QTY_STEP):
        raise validation_error(field, "has more than 6 decimal places")
    return number.quantize(QTY_STEP)


def parse_cost(value: object, field: str) -> Decimal:
    number = parse_decimal(value, field)
    if number < 0:
        raise validation_error(field, "must not be negative")
    if number != number.quantize(COST_STEP):
        raise validation_error(field, "has more than 6 decimal places")
    return number.quantize(COST_STEP)


def parse_money(value: object, field: str) -> Decimal:
    number = parse_decimal(value, field)
    if number != number.quantize(MONEY_STEP):
        raise validation_error(field, "has more than 2 decimal places")
    return number.quantize(MONEY_STEP)


def money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_STEP, rounding=ROUND_HALF_UP)


def unit_cost(value: Decimal) -> Decimal:
    return value.quantize(COST_STEP, rounding=ROUND_HALF_UP)


def to_units(value: Decimal | None) -> int | None:
    """Millionths as an integer, the stored form."""
    if value is None:
        return None
    return int(value * SCALE)  # exact: values never carry more than six decimal places


def from_units(units: int | None) -> Decimal | None:
    if units is None:
        return None
    return Decimal(units).scaleb(-6)


def fmt(value: Decimal | None) -> str | None:
    """The JSON form of a decimal: a string without exponent and without float rounding."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text
