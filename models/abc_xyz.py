"""ABC/XYZ segmentation per facility + SKU (SPEC M3): ABC by cumulative share of consumption
value, XYZ by the coefficient of variation of bucketed demand, and the cycle-count frequency
each segment suggests."""

from __future__ import annotations

import polars as pl

from models import demand
from models.inputs import CONSUMPTION, KEYS, QTY, STOCK, ModelSettings, conform
from models.wording import number_text, percent_text

KEY_COLUMNS = list(KEYS)


def consumption_window(consumption: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """Consumption within the ABC window, with `days_ago` (0 = the planning date)."""
    frame = conform(consumption, CONSUMPTION, "consumption")
    return demand.within(frame, settings, settings.abc_window_days)


def bucket_demand(consumption: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """Per facility + SKU + demand bucket (0 = the bucket ending on the planning date): net
    quantity and value consumed within the ABC window."""
    return (
        consumption_window(consumption, settings)
        .group_by([*KEY_COLUMNS, (pl.col("days_ago") // settings.xyz_bucket_days).alias("bucket")])
        .agg(pl.col("sold_qty").sum(), pl.col("sold_value_amount").sum())
    )


def buckets_observed(settings: ModelSettings) -> pl.Expr:
    """The buckets of history in the window, the oldest possibly partial (at least one): every
    consumption of a SKU falls into one of them, as none comes before its first activity."""
    size = settings.xyz_bucket_days
    most = settings.abc_window_days // size
    started = (pl.col("history_days") + size - 1) // size
    return started.clip(1, most).fill_null(most).cast(pl.Int32)


def per_position(
    consumption: pl.LazyFrame, stock: pl.LazyFrame, settings: ModelSettings
) -> pl.LazyFrame:
    """Consumption value and the mean, sd and CV of bucket demand over the buckets observed."""
    totals = (
        bucket_demand(consumption, settings)
        .group_by(KEY_COLUMNS)
        .agg(
            consumption_qty=pl.col("sold_qty").sum(),
            consumption_value_amount=pl.col("sold_value_amount").sum().cast(QTY),
            bucket_squares=(pl.col("sold_qty") ** 2).sum(),
        )
        .with_columns(bucket_total=pl.col("consumption_qty"))
    )
    keys = pl.concat(
        [conform(stock, STOCK, "stock").select(KEY_COLUMNS), totals.select(KEY_COLUMNS)]
    ).unique()
    frame = (
        keys.join(totals, on=KEY_COLUMNS, how="left")
        .join(demand.history_days(stock, settings), on=KEY_COLUMNS, how="left")
        .with_columns(
            pl.col("consumption_qty", "bucket_total", "bucket_squares").fill_null(0.0),
            pl.col("consumption_value_amount").fill_null(pl.lit(0, QTY)),
            demand_buckets=buckets_observed(settings),
        )
    )
    mean = pl.col("bucket_total") / pl.col("demand_buckets")
    sigma = demand.sample_sigma(
        pl.col("bucket_total"), pl.col("bucket_squares"), pl.col("demand_buckets")
    )
    return frame.with_columns(bucket_mean_qty=mean, bucket_sigma_qty=sigma).with_columns(
        demand_cv=pl.when(pl.col("bucket_mean_qty") > 0).then(
            pl.col("bucket_sigma_qty") / pl.col("bucket_mean_qty")
        )
    )


def with_abc(frame: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """Within each facility, by consumption value (largest first): A while the share of value
    before the SKU is under the first threshold, B under the second, else C; no value is C."""
    a_share, b_share = settings.abc_shares
    value = pl.col("consumption_value_amount").cast(pl.Float64).clip(lower_bound=0.0)
    total = value.sum().over("facility_id")
    ordered = frame.sort(
        ["facility_id", "consumption_value_amount", "variant_id"],
        descending=[False, True, False],
    ).with_columns(value_share=pl.when(total > 0).then(value / total).otherwise(0.0))
    ordered = ordered.with_columns(
        cumulative_value_share=pl.col("value_share").cum_sum().over("facility_id")
    )
    before = pl.col("cumulative_value_share") - pl.col("value_share")
    abc = (
        pl.when(pl.col("value_share") <= 0)
        .then(pl.lit("C"))
        .when(before < a_share)
        .then(pl.lit("A"))
        .when(before < b_share)
        .then(pl.lit("B"))
        .otherwise(pl.lit("C"))
    )
    return ordered.with_columns(abc_class=abc)


def with_xyz(frame: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """X when the CV is at most the first threshold, Y at most the second, else Z; a SKU
    without demand has no CV and is Z (nothing regular to count on)."""
    x_cv, y_cv = settings.xyz_cv
    cv = pl.col("demand_cv")
    xyz = (
        pl.when(cv.is_null())
        .then(pl.lit("Z"))
        .when(cv <= x_cv)
        .then(pl.lit("X"))
        .when(cv <= y_cv)
        .then(pl.lit("Y"))
        .otherwise(pl.lit("Z"))
    )
    return frame.with_columns(xyz_class=xyz)


def _rationale(settings: ModelSettings) -> pl.Expr:
    a_share, b_share = settings.abc_shares
    x_cv, y_cv = settings.xyz_cv
    cv = pl.when(pl.col("demand_cv").is_not_null()).then(
        pl.concat_str(
            pl.lit(f"{settings.xyz_bucket_days}-day demand CV "),
            number_text(pl.col("demand_cv")),
            pl.lit(f" (X up to {x_cv:g}, Y up to {y_cv:g}) over "),
            pl.col("demand_buckets").cast(pl.String),
            pl.lit(" buckets"),
        )
    )
    return pl.concat_str(
        pl.col("segment"),
        pl.lit(": "),
        percent_text(pl.col("value_share")),
        pl.lit(" of the facility's consumption value, "),
        percent_text(pl.col("cumulative_value_share") - pl.col("value_share")),
        pl.lit(f" before it (A under {a_share:.0%}, B under {b_share:.0%}); "),
        pl.coalesce(cv, pl.lit("no demand")),
        pl.lit(". Count every "),
        pl.col("count_interval_days").cast(pl.String),
        pl.lit(" days."),
    )


OUTPUT_COLUMNS = (
    "as_of_date", "facility_id", "variant_id", "segment", "abc_class", "xyz_class",
    "consumption_qty", "consumption_value_amount", "value_share", "cumulative_value_share",
    "demand_buckets", "bucket_mean_qty", "bucket_sigma_qty", "demand_cv", "count_interval_days",
    "rationale",
)  # fmt: skip


def abc_xyz(
    consumption: pl.LazyFrame, stock: pl.LazyFrame, settings: ModelSettings
) -> pl.LazyFrame:
    """One row per facility + SKU with stock or sales: its ABC and XYZ class, the segment
    (e.g. `AX`), the figures behind them and the suggested cycle-count interval."""
    frame = with_xyz(with_abc(per_position(consumption, stock, settings), settings), settings)
    intervals = pl.DataFrame(
        {
            "segment": list(settings.count_interval_days),
            "count_interval_days": list(settings.count_interval_days.values()),
        },
        schema={"segment": pl.String, "count_interval_days": pl.Int32},
    ).lazy()
    frame = (
        frame.with_columns(segment=pl.concat_str("abc_class", "xyz_class"))
        .join(intervals, on="segment", how="left")
        .with_columns(as_of_date=pl.lit(settings.as_of))
    )
    return (
        frame.with_columns(rationale=_rationale(settings)).select(OUTPUT_COLUMNS).sort(KEY_COLUMNS)
    )
