"""Numbers as people read them in a suggestion's rationale, and stable suggestion ids."""

from __future__ import annotations

import hashlib

import polars as pl


def number_text(value: pl.Expr, places: int = 2) -> pl.Expr:
    """A quantity or statistic to `places` decimals, without a trailing ".0" ("40", "2.14")."""
    rounded = value.cast(pl.Float64).round(places)
    rounded = pl.when(rounded == 0).then(0.0).otherwise(rounded)  # no "-0"
    return rounded.cast(pl.String).str.strip_suffix(".0")


def money_text(amount: pl.Expr) -> pl.Expr:
    """An amount with two decimals ("8.00"); for reading only (the columns stay exact)."""
    return amount.cast(pl.Decimal(18, 2)).cast(pl.String)


def percent_text(share: pl.Expr) -> pl.Expr:
    """A probability or share as a whole percentage ("78%")."""
    return pl.concat_str((share * 100).round(0).cast(pl.Int64).cast(pl.String), pl.lit("%"))


def sentence(*parts: pl.Expr | str) -> pl.Expr:
    """Parts joined with single spaces; null parts (clauses that do not apply) are left out."""
    exprs = [pl.lit(part) if isinstance(part, str) else part for part in parts]
    return pl.concat_str(exprs, separator=" ", ignore_nulls=True)


def codes(flags: dict[str, pl.Expr]) -> pl.Expr:
    """The codes whose flag is true, as a list in the order given (built as text, then split:
    much faster than a list of conditionals)."""
    text = pl.concat_str(
        [pl.when(flag.fill_null(False)).then(pl.lit(code)) for code, flag in flags.items()],
        separator=",",
        ignore_nulls=True,
    )
    return pl.when(text == "").then(pl.lit([], pl.List(pl.String))).otherwise(text.str.split(","))


def _digest(contents: pl.Series) -> pl.Series:
    return pl.Series(
        [hashlib.blake2b(text.encode(), digest_size=4).hexdigest() for text in contents],
        dtype=pl.String,
    )


def suggestion_id(
    prefix: str, as_of: pl.Expr, readable: list[pl.Expr], content: list[pl.Expr]
) -> pl.Expr:
    """`<prefix>-<yyyymmdd>-<readable…>-<digest>`: the same for the same suggestion, and a new
    one when anything in `readable` or `content` changes (the digest covers both)."""
    day = as_of.dt.strftime("%Y%m%d")
    named = [field.cast(pl.String).fill_null("-") for field in readable]
    described = [field.cast(pl.String).fill_null("-") for field in content]
    digest = pl.concat_str([day, *named, *described], separator="|").map_batches(
        _digest, return_dtype=pl.String
    )
    return pl.concat_str([pl.lit(prefix), day, *named, digest], separator="-")
