"""Observed replenishment lead times: per facility + SKU (vendor receipts and transfers into it)
and per transfer lane (shipments from one facility to another, any SKU)."""

from __future__ import annotations

import polars as pl

from models.inputs import KEYS, LEAD_TIMES, ModelSettings, conform


def recent_samples(samples: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """Lead times of receipts in the lookback window ending on the planning date."""
    days_ago = (pl.lit(settings.as_of) - pl.col("received_date")).dt.total_days()
    return conform(samples, LEAD_TIMES, "lead_times").filter(
        (days_ago >= 0) & (days_ago < settings.lead_time_lookback_days)
    )


def _summary(prefix: str) -> list[pl.Expr]:
    days = pl.col("lead_time_days")
    count = days.count()
    return [
        count.cast(pl.Int32).alias(f"{prefix}_samples"),
        days.mean().alias(f"{prefix}_mean_days"),
        # one sample shows no variability: sd 0 rather than unknown
        pl.when(count > 1).then(days.std()).otherwise(0.0).alias(f"{prefix}_sigma_days"),
    ]


def position_lead_times(samples: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """Per facility + SKU: `lead_time_samples`, `lead_time_mean_days`, `lead_time_sigma_days`
    (sample standard deviation; 0 with one sample)."""
    return recent_samples(samples, settings).group_by(list(KEYS)).agg(_summary("lead_time"))


def lane_lead_times(samples: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """Per source → destination facility: `lane_samples`, `lane_mean_days`, `lane_sigma_days`
    from transfer shipments of any SKU."""
    return (
        recent_samples(samples, settings)
        .filter(pl.col("source_facility_id").is_not_null())
        .rename({"facility_id": "destination_facility_id"})
        .group_by(["source_facility_id", "destination_facility_id"])
        .agg(_summary("lane"))
    )
