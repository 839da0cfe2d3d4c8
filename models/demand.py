"""Demand of a facility + SKU from its sales: velocity over trailing windows, by channel, and the
mean and standard deviation of daily demand that safety stock is built on."""

from __future__ import annotations

import polars as pl

from models.inputs import CHANNEL_SALES, KEYS, SALES, STOCK, ModelSettings, conform

KEY_COLUMNS = list(KEYS)


def velocity_column(window: int) -> str:
    return f"velocity_{window}d_qty"


def _days_ago(settings: ModelSettings) -> pl.Expr:
    """0 for the planning date, 1 for the day before, …"""
    return (pl.lit(settings.as_of) - pl.col("sale_date")).dt.total_days()


def within(frame: pl.LazyFrame, settings: ModelSettings, window: int) -> pl.LazyFrame:
    """Rows dated within the last `window` days, with `days_ago` (0 = the planning date)."""
    days_ago = _days_ago(settings).cast(pl.Int32)
    return frame.with_columns(days_ago=days_ago).filter(
        (pl.col("days_ago") >= 0) & (pl.col("days_ago") < window)
    )


def sales_window(sales: pl.LazyFrame, settings: ModelSettings, window: int) -> pl.LazyFrame:
    """Daily sales within the last `window` days, with `days_ago` (0 = the planning date)."""
    return within(conform(sales, SALES, "sales"), settings, window)


def history_days(stock: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """Days from the first activity of a facility + SKU to the planning date, both counted
    (null when it had none by then)."""
    days = (pl.lit(settings.as_of) - pl.col("first_activity_date")).dt.total_days() + 1
    return conform(stock, STOCK, "stock").select(
        *KEY_COLUMNS, history_days=pl.when(days > 0).then(days).cast(pl.Int32)
    )


def observed_days(window: int) -> pl.Expr:
    """The days a window can hold demand: the window, or the history when it is shorter."""
    return pl.col("history_days").clip(1, window).fill_null(window).cast(pl.Int32)


def sample_sigma(total: pl.Expr, squares: pl.Expr, days: pl.Expr) -> pl.Expr:
    """Standard deviation (n - 1) of `days` daily values, the days without sales counting as 0,
    from their sum and sum of squares; 0 for a single day."""
    variance = (squares - total * total / days) / (days - 1)
    return pl.when(days > 1).then(variance.clip(lower_bound=0.0).sqrt()).otherwise(0.0)


def demand_statistics(
    sales: pl.LazyFrame, stock: pl.LazyFrame, settings: ModelSettings
) -> pl.LazyFrame:
    """Per facility + SKU with sales or stock: `history_days`, `velocity_<w>d_qty` (mean daily
    demand over each window), `planning_days`, `demand_qty_per_day` and `demand_sigma_qty`
    (over the planning window), `sale_days` (days with a sale in it)."""
    planning = settings.planning_window_days
    per_day = sales_window(sales, settings, max(settings.velocity_windows))
    in_planning = pl.col("days_ago") < planning
    # one row per facility + SKU + day, so the sum of squares is the days' sum of squares
    sums = per_day.group_by(KEY_COLUMNS).agg(
        *(
            pl.col("sold_qty").filter(pl.col("days_ago") < window).sum().alias(f"sold_{window}")
            for window in settings.velocity_windows
        ),
        planning_squares=(pl.col("sold_qty") ** 2).filter(in_planning).sum(),
        sale_days=in_planning.sum().cast(pl.Int32),
    )
    history = history_days(stock, settings)
    planning_total = pl.col(f"sold_{planning}")
    return (
        history.join(sums, on=KEY_COLUMNS, how="full", coalesce=True)
        .with_columns(pl.col(f"sold_{w}").fill_null(0.0) for w in settings.velocity_windows)
        .with_columns(
            pl.col("planning_squares").fill_null(0.0),
            pl.col("sale_days").fill_null(0),
            planning_days=observed_days(planning),
            **{
                velocity_column(w): pl.col(f"sold_{w}") / observed_days(w)
                for w in settings.velocity_windows
            },
        )
        .with_columns(
            demand_qty_per_day=planning_total / pl.col("planning_days"),
            demand_sigma_qty=sample_sigma(
                planning_total, pl.col("planning_squares"), pl.col("planning_days")
            ),
        )
        .drop([f"sold_{w}" for w in settings.velocity_windows] + ["planning_squares"])
    )


def channel_demand(
    channel_sales: pl.LazyFrame, stock: pl.LazyFrame, settings: ModelSettings
) -> pl.LazyFrame:
    """Per facility + SKU + channel: mean daily demand over the planning window
    (`channel_velocity_qty`). Sales without a channel count under `unassigned`."""
    planning = settings.planning_window_days
    history = history_days(stock, settings)
    return (
        within(conform(channel_sales, CHANNEL_SALES, "channel_sales"), settings, planning)
        .with_columns(pl.col("channel_id").fill_null("unassigned"))
        .group_by([*KEY_COLUMNS, "channel_id"])
        .agg(pl.col("sold_qty").sum())
        .join(history, on=KEY_COLUMNS, how="left")
        .select(
            *KEY_COLUMNS,
            "channel_id",
            channel_velocity_qty=pl.col("sold_qty") / observed_days(planning),
        )
    )
