"""The standard normal distribution as Polars expressions: the service-level z (inverse CDF)
and stockout probabilities (CDF), so the models stay lazy and vectorised."""

from __future__ import annotations

import math

import polars as pl

SQRT2 = math.sqrt(2.0)
SQRT2PI = math.sqrt(2.0 * math.pi)

# Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9), refined
# by one Halley step on the exact CDF to full double precision.
_A = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
      -30.66479806614716, 2.506628277459239)  # fmt: skip
_B = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
      -13.28068155288572)  # fmt: skip
_C = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
      4.374664141464968, 2.938163982698783)  # fmt: skip
_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
_P_LOW = 0.02425


def _poly(x: pl.Expr, coefficients: tuple[float, ...]) -> pl.Expr:
    """Horner's scheme."""
    result: pl.Expr = pl.lit(coefficients[0])
    for coefficient in coefficients[1:]:
        result = result * x + coefficient
    return result


def normal_cdf(x: pl.Expr) -> pl.Expr:
    """Φ(x) = ½·erfc(-x/√2); erfc keeps the lower tail accurate."""
    return 0.5 * (-x / SQRT2).erfc()


def _tail(p: pl.Expr) -> pl.Expr:
    q = (-2.0 * p.log()).sqrt()
    return _poly(q, _C) / (_poly(q, _D) * q + 1.0)


def inverse_normal_cdf(p: pl.Expr) -> pl.Expr:
    """z with Φ(z) = p, for 0 < p < 1 (null outside)."""
    q = p - 0.5
    r = q * q
    central = _poly(r, _A) * q / (_poly(r, _B) * r + 1.0)
    rough = (
        pl.when(p < _P_LOW)
        .then(_tail(p))
        .when(p > 1.0 - _P_LOW)
        .then(-_tail(1.0 - p))
        .otherwise(central)
    )
    error = normal_cdf(rough) - p
    u = error * SQRT2PI * (rough * rough / 2.0).exp()
    refined = rough - u / (1.0 + rough * u / 2.0)
    return pl.when((p > 0) & (p < 1)).then(refined)
