"""Replenishment suggestions per facility + SKU (SPEC M1): safety stock, reorder point and
order-up-to level from demand and lead-time variability, MOQ, case packs and capacity, with the
rationale, the constraints that shaped each suggestion and its expected impact."""

from __future__ import annotations

import polars as pl

from models import demand, lead_times
from models.inputs import (
    CHANNEL_PRIORITIES,
    KEYS,
    QTY,
    RULES,
    STOCK,
    VENDOR_TERMS,
    ModelSettings,
    conform,
)
from models.normal import inverse_normal_cdf, normal_cdf
from models.wording import codes, number_text, percent_text, sentence, suggestion_id

KEY_COLUMNS = list(KEYS)
ZERO = pl.lit(0, QTY)
STOCK_QUANTITIES = (
    "on_hand_qty",
    "reserved_qty",
    "backordered_qty",
    "inbound_qty",
    "in_transit_qty",
)


# -- quantities --------------------------------------------------------------------------------


def whole_units_up(value: pl.Expr) -> pl.Expr:
    """A planning level from a statistic: rounded up to a whole unit (rounded to 6 places first,
    so float noise such as 12.0000000001 does not add a unit)."""
    return value.round(6).ceil().clip(lower_bound=0.0).cast(QTY)


def ceil_to_multiple(qty: pl.Expr, step: pl.Expr) -> pl.Expr:
    """The smallest multiple of `step` (> 0) not below `qty`, exactly in decimals."""
    base = ((qty / step).floor() * step).cast(QTY)
    return pl.when(base < qty).then(base + step).otherwise(base).cast(QTY)


def floor_to_multiple(qty: pl.Expr, step: pl.Expr) -> pl.Expr:
    """The largest multiple of `step` (> 0) not above `qty`, exactly in decimals."""
    base = ((qty / step).floor() * step).cast(QTY)
    return pl.when(base > qty).then(base - step).otherwise(base).cast(QTY)


def dec(value: pl.Expr) -> pl.Expr:
    return value.cast(QTY)


# -- inputs per facility + SKU -----------------------------------------------------------------


def preferred_vendors(vendor_terms: pl.LazyFrame) -> pl.LazyFrame:
    """One vendor per SKU: the lowest unit cost, then the shortest lead time, then the code."""
    terms = conform(vendor_terms, VENDOR_TERMS, "vendor_terms")
    return (
        terms.sort(["variant_id", "unit_cost_amount", "lead_time_days", "vendor_id"])
        .group_by("variant_id", maintain_order=True)
        .first()
        .rename({"lead_time_days": "vendor_lead_time_days"})
    )


def channel_profile(
    channel_sales: pl.LazyFrame,
    stock: pl.LazyFrame,
    priorities: pl.LazyFrame,
    settings: ModelSettings,
) -> pl.LazyFrame:
    """Per facility + SKU: its channels' velocities (fastest first) and its top channel — the
    most important (lowest priority number) channel it sells through, then the fastest.
    Channels without a configured priority rank after every configured one."""
    ranked = (
        demand.channel_demand(channel_sales, stock, settings)
        .filter(pl.col("channel_velocity_qty") > 0)
        .join(
            conform(priorities, CHANNEL_PRIORITIES, "channel_priorities"),
            on="channel_id",
            how="left",
        )
        .sort(
            [*KEY_COLUMNS, "channel_velocity_qty", "channel_id"],
            descending=[False, False, True, False],
        )
    )
    top = ranked.sort(
        [*KEY_COLUMNS, "priority", "channel_velocity_qty", "channel_id"],
        descending=[False, False, False, True, False],
        nulls_last=True,
    )
    velocities = ranked.group_by(KEY_COLUMNS, maintain_order=True).agg(
        channel_velocities=pl.struct(
            "channel_id",
            velocity_qty=pl.col("channel_velocity_qty").round(6).cast(QTY),
            priority="priority",
        )
    )
    chosen = top.group_by(KEY_COLUMNS, maintain_order=True).agg(
        top_channel_id=pl.col("channel_id").first(),
        channel_priority=pl.col("priority").first(),
    )
    return velocities.join(chosen, on=KEY_COLUMNS, how="left")


def positions(stock: pl.LazyFrame, rules: pl.LazyFrame, stats: pl.LazyFrame) -> pl.LazyFrame:
    """Every facility + SKU with stock, sales or a rule, with its stock quantities (0 if none)."""
    keys = pl.concat(
        [
            conform(stock, STOCK, "stock").select(KEY_COLUMNS),
            conform(rules, RULES, "replenishment_rules").select(KEY_COLUMNS),
            stats.select(KEY_COLUMNS),
        ]
    ).unique()
    quantities = conform(stock, STOCK, "stock").drop("first_activity_date")
    return keys.join(quantities, on=KEY_COLUMNS, how="left").with_columns(
        pl.col(name).fill_null(ZERO) for name in STOCK_QUANTITIES
    )


def with_position(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Inventory position = on hand - reserved - backordered + inbound + in transit; what can
    leave now (on hand - reserved - backordered); what is or will be on the shelf (on hand +
    inbound + in transit, what capacity limits)."""
    available = pl.col("on_hand_qty") - pl.col("reserved_qty") - pl.col("backordered_qty")
    return frame.with_columns(
        inventory_position_qty=dec(available + pl.col("inbound_qty") + pl.col("in_transit_qty")),
        available_qty=dec(available),
        physical_qty=dec(pl.col("on_hand_qty") + pl.col("inbound_qty") + pl.col("in_transit_qty")),
    )


def with_lead_time(frame: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """Observed lead times where there are samples; else the vendor's quoted lead time (sd 0);
    else the default."""
    has_samples = pl.col("lead_time_samples") > 0
    has_terms = pl.col("vendor_lead_time_days").is_not_null()
    return frame.with_columns(
        lead_time_samples=pl.col("lead_time_samples").fill_null(0),
        lead_time_source=pl.when(has_samples)
        .then(pl.lit("samples"))
        .when(has_terms)
        .then(pl.lit("vendor_terms"))
        .otherwise(pl.lit("default")),
        lead_time_days=pl.when(has_samples)
        .then(pl.col("lead_time_mean_days"))
        .when(has_terms)
        .then(pl.col("vendor_lead_time_days").cast(pl.Float64))
        .otherwise(pl.lit(settings.default_lead_time_days)),
        lead_time_sigma_days=pl.when(has_samples)
        .then(pl.col("lead_time_sigma_days"))
        .otherwise(0.0),
    ).drop("lead_time_mean_days")


def with_levels(frame: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """Safety stock z·√(LT·sd² + d̄²·sLT²), reorder point d̄·LT + SS, order-up-to = reorder point
    + d̄·review period; a min/max rule takes precedence; capacity caps both levels."""
    d, sd = pl.col("demand_qty_per_day"), pl.col("demand_sigma_qty")
    lt, slt = pl.col("lead_time_days"), pl.col("lead_time_sigma_days")
    safety = (pl.col("z_score") * (lt * sd * sd + d * d * slt * slt).sqrt()).clip(lower_bound=0.0)
    computed = frame.with_columns(
        safety_stock_qty=whole_units_up(safety),
        computed_reorder_point_qty=whole_units_up(d * lt + safety),
        review_demand_qty=whole_units_up(d * pl.col("review_period_days")),
    )
    reorder = pl.coalesce("min_qty", "computed_reorder_point_qty")
    # a max alone also bounds the computed reorder point: the rule is the ceiling
    reorder = pl.when(pl.col("max_qty") < reorder).then(pl.col("max_qty")).otherwise(reorder)
    ruled = computed.with_columns(reorder_point_qty=dec(reorder)).with_columns(
        order_up_to_qty=dec(
            pl.coalesce("max_qty", pl.col("reorder_point_qty") + pl.col("review_demand_qty"))
        )
    )
    capacity = pl.col("capacity_qty")
    capped = (capacity < pl.col("order_up_to_qty")).fill_null(False)
    return ruled.with_columns(
        is_level_capped=capped,
        reorder_point_qty=pl.min_horizontal("reorder_point_qty", capacity).cast(QTY),
        order_up_to_qty=pl.min_horizontal("order_up_to_qty", capacity).cast(QTY),
        level_source=pl.when(pl.col("min_qty").is_not_null() | pl.col("max_qty").is_not_null())
        .then(pl.lit("min_max_rule"))
        .otherwise(pl.lit("computed")),
    )


def plan_positions(
    sales: pl.LazyFrame,
    channel_sales: pl.LazyFrame,
    stock: pl.LazyFrame,
    lead_time_samples: pl.LazyFrame,
    rules: pl.LazyFrame,
    vendor_terms: pl.LazyFrame,
    channel_priorities: pl.LazyFrame,
    settings: ModelSettings,
) -> pl.LazyFrame:
    """One row per facility + SKU: stock and inventory position, demand, channels, preferred
    vendor, lead time, service level and z, safety stock, reorder point and order-up-to level.
    The replenishment and rebalancing suggestions are both built on it."""
    stats = demand.demand_statistics(sales, stock, settings)
    rule_columns = conform(rules, RULES, "replenishment_rules")
    frame = (
        positions(stock, rules, stats)
        .join(stats, on=KEY_COLUMNS, how="left")
        .join(
            channel_profile(channel_sales, stock, channel_priorities, settings),
            on=KEY_COLUMNS,
            how="left",
        )
        .join(preferred_vendors(vendor_terms), on="variant_id", how="left")
        .join(
            lead_times.position_lead_times(lead_time_samples, settings), on=KEY_COLUMNS, how="left"
        )
        .join(rule_columns, on=KEY_COLUMNS, how="left")
    )
    frame = with_position(frame).with_columns(
        pl.col("planning_days").fill_null(settings.planning_window_days),
        pl.col("sale_days").fill_null(0),
        *(pl.col(demand.velocity_column(w)).fill_null(0.0) for w in settings.velocity_windows),
    )
    frame = frame.with_columns(
        has_rule=pl.any_horizontal(
            pl.col(name).is_not_null()
            for name in (
                "min_qty",
                "max_qty",
                "service_level",
                "capacity_qty",
                "review_period_days",
            )
        ),
        # reversals of older sales can make a window's net demand negative: plan on zero
        demand_qty_per_day=pl.col("demand_qty_per_day").fill_null(0.0).clip(lower_bound=0.0),
        demand_sigma_qty=pl.col("demand_sigma_qty").fill_null(0.0),
        service_level=pl.col("service_level").cast(pl.Float64).fill_null(settings.service_level),
        review_period_days=pl.col("review_period_days").fill_null(settings.review_period_days),
    ).with_columns(z_score=inverse_normal_cdf(pl.col("service_level")))
    return with_levels(with_lead_time(frame, settings), settings)


# -- the suggestion ----------------------------------------------------------------------------


def transfer_totals(transfers: pl.LazyFrame) -> pl.LazyFrame:
    """Per facility + SKU: units the transfer suggestions bring in and take out, and where from."""
    incoming = transfers.group_by(["destination_facility_id", "variant_id"]).agg(
        transfer_in_qty=dec(pl.col("transfer_qty").sum()),
        transfer_sources=pl.col("source_facility_id").unique().sort().str.join(", "),
    )
    outgoing = transfers.group_by(["source_facility_id", "variant_id"]).agg(
        transfer_out_qty=dec(pl.col("transfer_qty").sum())
    )
    return incoming.rename({"destination_facility_id": "facility_id"}).join(
        outgoing.rename({"source_facility_id": "facility_id"}),
        on=KEY_COLUMNS,
        how="full",
        coalesce=True,
    )


def with_order(frame: pl.LazyFrame) -> pl.LazyFrame:
    """At or below the reorder point (before or after the suggested transfers), order what the
    transfers leave short of the order-up-to level: raised to the MOQ, rounded up to case packs
    (whole units without one), and cut back to case packs that fit the capacity — to nothing
    when the MOQ no longer fits."""
    after = pl.col("position_after_transfers_qty")
    # reaching the reorder point triggers the replenishment: for a destination, before the
    # transfers that start to fill it (the vendor buys the rest); for a source, after them
    lowest = pl.min_horizontal("inventory_position_qty", "position_after_transfers_qty")
    due = (lowest <= pl.col("reorder_point_qty")) & (pl.col("order_up_to_qty") > after)
    step = pl.coalesce(pl.col("case_pack_qty"), pl.lit(1, QTY))
    moq = pl.col("moq_qty").fill_null(ZERO)
    frame = frame.with_columns(
        is_reorder_due=due,
        need_qty=dec(pl.when(due).then(pl.col("order_up_to_qty") - after).otherwise(ZERO)),
        room_qty=dec(
            pl.col("capacity_qty")
            - pl.col("physical_qty")
            - pl.col("transfer_in_qty")
            + pl.col("transfer_out_qty")
        ),
    )
    frame = frame.with_columns(
        raised_qty=dec(
            pl.when(pl.col("need_qty") > 0).then(pl.max_horizontal("need_qty", moq)).otherwise(ZERO)
        )
    ).with_columns(rounded_qty=ceil_to_multiple(pl.col("raised_qty"), step))
    over_capacity = (pl.col("rounded_qty") > pl.col("room_qty")).fill_null(False)
    fitted = floor_to_multiple(pl.col("room_qty").clip(lower_bound=ZERO), step)
    fitted = pl.when(fitted < moq).then(ZERO).otherwise(fitted)
    return frame.with_columns(
        is_moq_applied=(pl.col("need_qty") > 0) & (moq > pl.col("need_qty")),
        is_case_pack_applied=pl.col("case_pack_qty").is_not_null()
        & (pl.col("rounded_qty") > pl.col("raised_qty")),
        is_capacity_applied=over_capacity | pl.col("is_level_capped"),
        order_qty=dec(pl.when(over_capacity).then(fitted).otherwise(pl.col("rounded_qty"))),
    )


def stockout_risk(stock: pl.Expr) -> pl.Expr:
    """P(demand over lead time + review period > `stock`), demand ~ N(d̄·P, √(P·sd² + d̄²·sLT²))."""
    d, sd = pl.col("demand_qty_per_day"), pl.col("demand_sigma_qty")
    period = pl.col("lead_time_days") + pl.col("review_period_days")
    mean = d * period
    sigma = (period * sd * sd + d * d * pl.col("lead_time_sigma_days") ** 2).sqrt()
    level = stock.cast(pl.Float64)
    return (
        pl.when(sigma > 0)
        .then(1.0 - normal_cdf((level - mean) / sigma))
        .when(level < mean)
        .then(1.0)
        .otherwise(0.0)
    )


def days_of_cover(stock: pl.Expr) -> pl.Expr:
    """Days the stock lasts at the planning demand (null without demand)."""
    d = pl.col("demand_qty_per_day")
    return pl.when(d > 0).then(stock.cast(pl.Float64).clip(lower_bound=0.0) / d)


def with_impact(frame: pl.LazyFrame) -> pl.LazyFrame:
    after = pl.col("position_after_transfers_qty") + pl.col("order_qty")
    return frame.with_columns(
        position_after_qty=dec(after),
        days_of_cover_before=days_of_cover(pl.col("inventory_position_qty")),
        days_of_cover_after=days_of_cover(after),
        stockout_risk_before=stockout_risk(pl.col("inventory_position_qty")),
        stockout_risk_after=stockout_risk(after),
        order_value_amount=pl.when(pl.col("order_qty") > 0).then(
            dec(pl.col("order_qty") * pl.col("unit_cost_amount"))
        ),
    )


def with_decision(frame: pl.LazyFrame) -> pl.LazyFrame:
    decision = (
        pl.when(pl.col("order_qty") > 0)
        .then(pl.lit("order"))
        .when(pl.col("need_qty") > 0)
        .then(pl.lit("capacity_full"))
        .when(pl.col("transfer_in_qty") > 0)
        .then(pl.lit("covered_by_transfer"))
        .otherwise(pl.lit("no_order"))
    )
    return frame.with_columns(decision=decision)


def constraints(settings: ModelSettings) -> pl.Expr:
    """What limited or shaped the suggestion, as a list of codes (docs/models.md)."""
    flags = {
        "no_history": pl.col("sale_days") == 0,
        "short_history": (pl.col("history_days") < settings.planning_window_days).fill_null(False),
        "zero_demand": (pl.col("sale_days") > 0) & (pl.col("demand_qty_per_day") == 0),
        "negative_stock": pl.col("on_hand_qty") < ZERO,
        "backorders": pl.col("backordered_qty") > ZERO,
        "no_lead_time_samples": pl.col("lead_time_samples") == 0,
        "no_vendor_terms": pl.col("vendor_id").is_null(),
        "min_max_rule": pl.col("level_source") == "min_max_rule",
        "transfer": pl.col("transfer_in_qty") > ZERO,
        "moq": pl.col("is_moq_applied"),
        "case_pack": pl.col("is_case_pack_applied"),
        "capacity": pl.col("is_capacity_applied"),
    }
    return codes(flags)


# -- the rationale -----------------------------------------------------------------------------


def _demand_clause(settings: ModelSettings) -> pl.Expr:
    channels = pl.col("channel_velocities").list.eval(
        pl.concat_str(
            pl.element().struct.field("channel_id"),
            pl.lit(" "),
            number_text(pl.element().struct.field("velocity_qty")),
            pl.lit("/day"),
        )
    )
    breakdown = pl.when(pl.col("channel_velocities").list.len() > 0).then(
        pl.concat_str(pl.lit("; "), channels.list.join(", "))
    )
    window = f"{settings.planning_window_days} days"
    return (
        pl.when(pl.col("sale_days") == 0)
        .then(pl.lit(f"No sales in the last {window}."))
        .otherwise(
            pl.concat_str(
                pl.lit("Demand "),
                number_text(pl.col("demand_qty_per_day")),
                pl.lit("/day (sd "),
                number_text(pl.col("demand_sigma_qty")),
                pl.lit(" over "),
                pl.col("planning_days").cast(pl.String),
                pl.lit(" days"),
                breakdown,
                pl.lit(")."),
                ignore_nulls=True,
            )
        )
    )


def _lead_time_clause() -> pl.Expr:
    days = pl.concat_str(
        pl.lit("Lead time "), number_text(pl.col("lead_time_days"), 1), pl.lit(" days")
    )
    return (
        pl.when(pl.col("lead_time_source") == "samples")
        .then(
            pl.concat_str(
                days,
                pl.lit(" (sd "),
                number_text(pl.col("lead_time_sigma_days"), 1),
                pl.lit(", "),
                pl.col("lead_time_samples").cast(pl.String),
                pl.when(pl.col("lead_time_samples") == 1)
                .then(pl.lit(" receipt)."))
                .otherwise(pl.lit(" receipts).")),
            )
        )
        .when(pl.col("lead_time_source") == "vendor_terms")
        .then(
            pl.concat_str(
                days, pl.lit(" quoted by "), pl.col("vendor_id"), pl.lit(" (no receipts observed).")
            )
        )
        .otherwise(
            pl.concat_str(days, pl.lit(" by default (no receipts observed, no vendor terms)."))
        )
    )


def _levels_clause() -> pl.Expr:
    computed = pl.concat_str(
        pl.lit("Service level "),
        percent_text(pl.col("service_level")),
        pl.lit(" (z "),
        number_text(pl.col("z_score")),
        pl.lit("): safety stock "),
        number_text(pl.col("safety_stock_qty")),
        pl.lit(", reorder point "),
        number_text(pl.col("reorder_point_qty")),
        pl.lit(", order up to "),
        number_text(pl.col("order_up_to_qty")),
    )
    rule = pl.when(pl.col("level_source") == "min_max_rule").then(
        pl.concat_str(
            pl.lit(" (min/max rule takes precedence: min "),
            pl.coalesce(number_text(pl.col("min_qty")), pl.lit("—")),
            pl.lit(", max "),
            pl.coalesce(number_text(pl.col("max_qty")), pl.lit("—")),
            pl.lit(")"),
        )
    )
    capped = pl.when(pl.col("is_level_capped")).then(
        pl.concat_str(pl.lit(", capped by capacity "), number_text(pl.col("capacity_qty")))
    )
    return pl.concat_str(computed, rule, capped, pl.lit("."), ignore_nulls=True)


def _position_clause() -> pl.Expr:
    parts = [
        pl.lit("Inventory position "),
        number_text(pl.col("inventory_position_qty")),
        pl.lit(" = on hand "),
        number_text(pl.col("on_hand_qty")),
        pl.lit(" - reserved "),
        number_text(pl.col("reserved_qty")),
        pl.lit(" - backordered "),
        number_text(pl.col("backordered_qty")),
        pl.lit(" + inbound "),
        number_text(pl.col("inbound_qty")),
        pl.lit(" + in transit "),
        number_text(pl.col("in_transit_qty")),
    ]
    incoming = pl.when(pl.col("transfer_in_qty") > 0).then(
        pl.concat_str(
            number_text(pl.col("transfer_in_qty")),
            pl.lit(" in from "),
            pl.col("transfer_sources"),
        )
    )
    outgoing = pl.when(pl.col("transfer_out_qty") > 0).then(
        pl.concat_str(number_text(pl.col("transfer_out_qty")), pl.lit(" out"))
    )
    moves = pl.concat_list(incoming, outgoing).list.drop_nulls()
    moved = pl.when(moves.list.len() > 0).then(
        pl.concat_str(
            pl.lit("; after the suggested transfers ("),
            moves.list.join(", "),
            pl.lit(") it is "),
            number_text(pl.col("position_after_transfers_qty")),
        )
    )
    return pl.concat_str([*parts, moved, pl.lit(".")], ignore_nulls=True)


def _order_clause() -> pl.Expr:
    vendor = pl.when(pl.col("vendor_id").is_not_null()).then(
        pl.concat_str(pl.lit(" from "), pl.col("vendor_id"))
    )
    adjustments = pl.concat_str(
        pl.lit(" (need "),
        number_text(pl.col("need_qty")),
        pl.when(pl.col("is_moq_applied")).then(
            pl.concat_str(pl.lit("; raised to the MOQ "), number_text(pl.col("moq_qty")))
        ),
        pl.when(pl.col("is_case_pack_applied")).then(
            pl.concat_str(
                pl.lit("; rounded up to case packs of "), number_text(pl.col("case_pack_qty"))
            )
        ),
        pl.when(pl.col("is_capacity_applied") & (pl.col("order_qty") < pl.col("rounded_qty"))).then(
            pl.concat_str(
                pl.lit("; cut to fit capacity "),
                number_text(pl.col("capacity_qty")),
                pl.lit(", room "),
                number_text(pl.col("room_qty").clip(lower_bound=ZERO)),
            )
        ),
        pl.lit(")"),
        ignore_nulls=True,
    )
    return (
        pl.when(pl.col("decision") == "order")
        .then(
            pl.concat_str(
                pl.lit("At or below the reorder point: order "),
                number_text(pl.col("order_qty")),
                vendor,
                adjustments,
                pl.lit("."),
                ignore_nulls=True,
            )
        )
        .when(pl.col("decision") == "capacity_full")
        .then(
            pl.concat_str(
                pl.lit("At or below the reorder point, but no order fits"), adjustments, pl.lit(".")
            )
        )
        .when(pl.col("decision") == "covered_by_transfer")
        .then(pl.lit("The suggested transfers cover it: no order."))
        .otherwise(pl.lit("Above the reorder point: no order."))
    )


def _impact_clause() -> pl.Expr:
    cover = pl.when(pl.col("days_of_cover_before").is_not_null()).then(
        pl.concat_str(
            pl.lit("Cover "),
            number_text(pl.col("days_of_cover_before"), 1),
            pl.lit(" → "),
            number_text(pl.col("days_of_cover_after"), 1),
            pl.lit(" days; stockout"),
        )
    )
    return pl.concat_str(
        pl.coalesce(cover, pl.lit("Stockout")),
        pl.lit(" risk over lead time + review period "),
        percent_text(pl.col("stockout_risk_before")),
        pl.lit(" → "),
        percent_text(pl.col("stockout_risk_after")),
        pl.lit("."),
        ignore_nulls=True,
    )


def rationale(settings: ModelSettings) -> pl.Expr:
    return sentence(
        _demand_clause(settings),
        _lead_time_clause(),
        _levels_clause(),
        _position_clause(),
        _order_clause(),
        _impact_clause(),
    )


OUTPUT_COLUMNS = (
    "as_of_date", "suggestion_id", "facility_id", "variant_id", "decision", "is_reorder_due",
    "order_qty", "vendor_id", "unit_cost_amount", "order_value_amount", "currency_code",
    "need_qty", "transfer_in_qty", "transfer_out_qty", "transfer_sources",
    "on_hand_qty", "reserved_qty", "backordered_qty", "inbound_qty", "in_transit_qty",
    "inventory_position_qty", "position_after_transfers_qty", "position_after_qty",
    "history_days", "planning_days", "sale_days", "velocity_columns", "demand_qty_per_day",
    "demand_sigma_qty", "channel_velocities", "top_channel_id", "channel_priority",
    "lead_time_days", "lead_time_sigma_days", "lead_time_samples", "lead_time_source",
    "service_level", "z_score", "review_period_days", "safety_stock_qty", "reorder_point_qty",
    "order_up_to_qty", "level_source", "min_qty", "max_qty", "capacity_qty", "moq_qty",
    "case_pack_qty", "days_of_cover_before", "days_of_cover_after", "stockout_risk_before",
    "stockout_risk_after", "constraints", "rationale",
)  # fmt: skip


def output_columns(settings: ModelSettings) -> list[str]:
    velocities = [demand.velocity_column(w) for w in settings.velocity_windows]
    columns: list[str] = []
    for name in OUTPUT_COLUMNS:
        columns += velocities if name == "velocity_columns" else [name]
    return columns


def replenishment_suggestions(
    plan: pl.LazyFrame, transfers: pl.LazyFrame | None, settings: ModelSettings
) -> pl.LazyFrame:
    """One suggestion per facility + SKU of the plan, assuming the transfer suggestions (source,
    destination, SKU, quantity) are carried out; `output_columns` in that order."""
    frame = plan.with_columns(as_of_date=pl.lit(settings.as_of))
    if transfers is not None:
        frame = frame.join(transfer_totals(transfers), on=KEY_COLUMNS, how="left")
    else:
        frame = frame.with_columns(
            transfer_in_qty=ZERO, transfer_out_qty=ZERO, transfer_sources=pl.lit(None, pl.String)
        )
    frame = frame.with_columns(
        transfer_in_qty=pl.col("transfer_in_qty").fill_null(ZERO),
        transfer_out_qty=pl.col("transfer_out_qty").fill_null(ZERO),
    ).with_columns(
        position_after_transfers_qty=dec(
            pl.col("inventory_position_qty")
            + pl.col("transfer_in_qty")
            - pl.col("transfer_out_qty")
        )
    )
    frame = with_decision(with_impact(with_order(frame)))
    frame = frame.with_columns(constraints=constraints(settings), rationale=rationale(settings))
    frame = frame.with_columns(
        suggestion_id=suggestion_id(
            "RS",
            pl.col("as_of_date"),
            [pl.col("facility_id"), pl.col("variant_id")],
            [
                pl.col(name)
                for name in (
                    "decision",
                    "order_qty",
                    "vendor_id",
                    "inventory_position_qty",
                    "reorder_point_qty",
                    "order_up_to_qty",
                    "transfer_in_qty",
                    "transfer_out_qty",
                )
            ],
        )
    )
    return frame.select(output_columns(settings)).sort(KEY_COLUMNS)
