"""Transfer (rebalancing) suggestions across facilities (SPEC M2): stock a facility can spare
moves to one that is at or below its reorder point when a transfer beats buying from the vendor,
in channel-priority order and within capacity. Suggestions never move stock."""

from __future__ import annotations

import polars as pl

from models import lead_times
from models.inputs import LANES, QTY, ModelSettings, conform
from models.replenishment import ZERO, ceil_to_multiple, dec, floor_to_multiple
from models.wording import codes, money_text, number_text, sentence, suggestion_id

DESTINATION = ["variant_id", "destination_facility_id"]
SOURCE = ["variant_id", "source_facility_id"]
# Sorts after every configured priority: a channel nobody ranked is served last.
UNRANKED = 1_000_000


def whole_units(value: pl.Expr) -> pl.Expr:
    """Units that can move: whole units, rounded down."""
    return floor_to_multiple(value, pl.lit(1, QTY)).cast(pl.Int64).clip(lower_bound=0)


def destinations(plan: pl.LazyFrame) -> pl.LazyFrame:
    """Facilities at or below their reorder point: the units that bring them up to their
    order-up-to level (rounded up), cut to what their capacity leaves room for; numbered per SKU
    in serving order — channel priority, then the fewest days of cover, then the largest need."""
    position = pl.col("inventory_position_qty")
    due = (position <= pl.col("reorder_point_qty")) & (pl.col("order_up_to_qty") > position)
    wanted = ceil_to_multiple(pl.col("order_up_to_qty") - position, pl.lit(1, QTY))
    room = pl.col("capacity_qty") - pl.col("physical_qty")
    fits = pl.when(room < wanted).then(room).otherwise(wanted)
    cover = pl.when(pl.col("demand_qty_per_day") > 0).then(
        position.cast(pl.Float64).clip(lower_bound=0.0) / pl.col("demand_qty_per_day")
    )
    return (
        plan.filter(due)
        .select(
            "variant_id",
            destination_facility_id="facility_id",
            destination_need_qty=whole_units(fits),
            is_need_capped=(room < wanted).fill_null(False),
            destination_wanted_qty=wanted.cast(pl.Int64),
            destination_position_qty="inventory_position_qty",
            destination_reorder_point_qty="reorder_point_qty",
            destination_order_up_to_qty="order_up_to_qty",
            destination_capacity_qty="capacity_qty",
            destination_demand_qty_per_day="demand_qty_per_day",
            destination_channel_id="top_channel_id",
            destination_priority="channel_priority",
            destination_cover_days=cover,
            vendor_id="vendor_id",
            vendor_unit_cost_amount="unit_cost_amount",
            vendor_currency_code="currency_code",
            vendor_lead_time_days=pl.coalesce(
                pl.col("vendor_lead_time_days").cast(pl.Float64), pl.col("lead_time_days")
            ),
            vendor_moq_qty="moq_qty",
            vendor_case_pack_qty="case_pack_qty",
        )
        .filter(pl.col("destination_need_qty") > 0)
        .sort(
            [
                "variant_id",
                pl.col("destination_priority").fill_null(UNRANKED),
                pl.col("destination_cover_days").fill_null(float("inf")),
                "destination_need_qty",
                "destination_facility_id",
            ],
            descending=[False, False, False, True, False],
        )
        .with_columns(destination_order=pl.int_range(pl.len()).over("variant_id"))
    )


def sources(plan: pl.LazyFrame) -> pl.LazyFrame:
    """Facilities above their reorder point with stock to spare: what is available now (on hand -
    reserved - backordered) above their own min (the rule's) or else their safety stock, and
    above their reorder point for destinations whose channel ranks below theirs."""
    position = pl.col("inventory_position_qty")
    floor = pl.coalesce("min_qty", "safety_stock_qty")
    protected = pl.max_horizontal(floor, pl.col("reorder_point_qty"))
    available = pl.col("available_qty")
    return (
        plan.filter(position > pl.col("reorder_point_qty"))
        .select(
            "variant_id",
            source_facility_id="facility_id",
            source_available_qty="available_qty",
            source_position_qty="inventory_position_qty",
            source_floor_qty=dec(floor),
            source_floor_basis=pl.when(pl.col("min_qty").is_not_null())
            .then(pl.lit("min"))
            .otherwise(pl.lit("safety stock")),
            source_protected_floor_qty=dec(protected),
            source_spare_qty=whole_units(available - floor),
            source_protected_spare_qty=whole_units(available - protected),
            source_demand_qty_per_day="demand_qty_per_day",
            source_channel_id="top_channel_id",
            source_priority="channel_priority",
        )
        .filter(pl.col("source_spare_qty") > 0)
    )


def lanes_with_lead_times(
    lanes: pl.LazyFrame, samples: pl.LazyFrame, settings: ModelSettings
) -> pl.LazyFrame:
    """Configured lanes, with the observed mean lead time where shipments were received."""
    observed = lead_times.lane_lead_times(samples, settings)
    has_samples = pl.col("lane_samples").fill_null(0) > 0
    return (
        conform(lanes, LANES, "transfer_lanes")
        .join(observed, on=["source_facility_id", "destination_facility_id"], how="left")
        .select(
            "source_facility_id",
            "destination_facility_id",
            lane_cost_per_unit_amount="cost_per_unit_amount",
            lane_currency_code="currency_code",
            lane_lead_time_days=pl.when(has_samples)
            .then(pl.col("lane_mean_days"))
            .otherwise(pl.col("lead_time_days").cast(pl.Float64)),
            lane_lead_time_source=pl.when(has_samples)
            .then(pl.lit("samples"))
            .otherwise(pl.lit("lane")),
        )
    )


def candidate_pairs(
    plan: pl.LazyFrame, lanes: pl.LazyFrame, samples: pl.LazyFrame, settings: ModelSettings
) -> pl.LazyFrame:
    """Every destination with every source of the same SKU that a lane connects, where the
    transfer beats buying — at least as fast, or cheaper per unit (costs in one currency) —
    ranked for the destination: fastest lane, then cheapest, then the most to spare."""
    pairs = (
        destinations(plan)
        .join(sources(plan), on="variant_id", how="inner")
        .filter(pl.col("source_facility_id") != pl.col("destination_facility_id"))
        .join(
            lanes_with_lead_times(lanes, samples, settings),
            on=["source_facility_id", "destination_facility_id"],
            how="inner",
        )
    )
    no_vendor = pl.col("vendor_id").is_null()
    faster = pl.col("lane_lead_time_days") <= pl.col("vendor_lead_time_days")
    same_currency = pl.col("lane_currency_code") == pl.col("vendor_currency_code")
    cheaper = same_currency & (
        pl.col("lane_cost_per_unit_amount") < pl.col("vendor_unit_cost_amount")
    )
    # a source whose own channel ranks above the destination's keeps its reorder point
    protected = pl.col("source_priority").is_not_null() & (
        pl.col("source_priority") < pl.col("destination_priority").fill_null(UNRANKED)
    )
    pairs = pairs.with_columns(
        is_faster=faster.fill_null(False),
        is_cheaper=cheaper.fill_null(False),
        is_source_protected=protected,
        pair_spare_qty=pl.when(protected)
        .then(pl.col("source_protected_spare_qty"))
        .otherwise(pl.col("source_spare_qty")),
    ).filter(no_vendor | pl.col("is_faster") | pl.col("is_cheaper"))
    return pairs.filter(pl.col("pair_spare_qty") > 0).with_columns(
        pair_rank=pl.struct(
            "lane_lead_time_days",
            "lane_cost_per_unit_amount",
            neg_spare=-pl.col("pair_spare_qty"),
            source="source_facility_id",
        )
        .rank("ordinal")
        .over(DESTINATION)
    )


def allocate_round(pairs: pl.LazyFrame) -> pl.LazyFrame:
    """One round: every destination still short takes its best-ranked source that can still
    give; a source serves the destinations that chose it in serving order, as far as it goes.
    A source's spare only shrinks along that order (protection starts at some channel and holds
    for every lower one), so the running sum of needs before each destination is exact."""
    need_left = pl.col("destination_need_qty") - pl.col("allocated_qty").sum().over(DESTINATION)
    room = pl.col("pair_spare_qty") - pl.col("allocated_qty").sum().over(SOURCE)
    frame = pairs.with_columns(need_left=need_left, room=room).with_columns(
        viable=(pl.col("need_left") > 0) & (pl.col("room") > 0)
    )
    frame = frame.with_columns(
        chosen=pl.col("viable")
        & (
            pl.col("pair_rank")
            == pl.when(pl.col("viable")).then(pl.col("pair_rank")).min().over(DESTINATION)
        )
    )
    asked = pl.when(pl.col("chosen")).then(pl.col("need_left")).otherwise(0)
    frame = frame.with_columns(
        asked_before=asked.cum_sum().over(SOURCE, order_by="destination_order") - asked
    )
    given = (pl.col("room") - pl.col("asked_before")).clip(0, pl.col("need_left"))
    return frame.with_columns(
        allocated_qty=pl.col("allocated_qty") + pl.when(pl.col("chosen")).then(given).otherwise(0)
    ).drop("need_left", "room", "viable", "chosen", "asked_before")


def allocate(pairs: pl.LazyFrame, settings: ModelSettings) -> pl.LazyFrame:
    """`transfer_rounds` rounds: a destination draws on at most that many sources."""
    frame = pairs.with_columns(allocated_qty=pl.lit(0, pl.Int64))
    for _ in range(settings.transfer_rounds):
        frame = allocate_round(frame)
    return frame.with_columns(
        destination_transfer_qty=pl.col("allocated_qty").sum().over(DESTINATION),
        source_transfer_qty=pl.col("allocated_qty").sum().over(SOURCE),
    ).filter(pl.col("allocated_qty") > 0)


def _cover(position: pl.Expr, per_day: pl.Expr) -> pl.Expr:
    return pl.when(per_day > 0).then(position.cast(pl.Float64).clip(lower_bound=0.0) / per_day)


def with_outcome(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Costs of both options, cover before and after, and the constraints that applied."""
    vendor_qty = ceil_to_multiple(
        pl.max_horizontal(
            pl.col("destination_need_qty").cast(QTY), pl.col("vendor_moq_qty").fill_null(ZERO)
        ),
        pl.coalesce(pl.col("vendor_case_pack_qty"), pl.lit(1, QTY)),
    )
    qty = pl.col("allocated_qty").cast(QTY)
    frame = frame.with_columns(
        transfer_qty=qty,
        transfer_cost_amount=dec(qty * pl.col("lane_cost_per_unit_amount")),
        vendor_order_qty=pl.when(pl.col("vendor_id").is_not_null()).then(vendor_qty),
    ).with_columns(
        vendor_cost_amount=dec(pl.col("vendor_order_qty") * pl.col("vendor_unit_cost_amount")),
        destination_cover_before_days=pl.col("destination_cover_days"),
        destination_cover_after_days=_cover(
            pl.col("destination_position_qty") + pl.col("destination_transfer_qty").cast(QTY),
            pl.col("destination_demand_qty_per_day"),
        ),
        source_cover_before_days=_cover(
            pl.col("source_position_qty"), pl.col("source_demand_qty_per_day")
        ),
        source_cover_after_days=_cover(
            pl.col("source_position_qty") - pl.col("source_transfer_qty").cast(QTY),
            pl.col("source_demand_qty_per_day"),
        ),
        source_kept_qty=pl.when(pl.col("is_source_protected"))
        .then(pl.col("source_protected_floor_qty"))
        .otherwise(pl.col("source_floor_qty")),
        is_short=pl.col("destination_transfer_qty") < pl.col("destination_need_qty"),
    )
    flags = {
        # what kept the destination short: its source ran dry, or the source kept stock for
        # its own higher-priority channel or gave it to destinations served before this one
        "source_availability": pl.col("is_short")
        & (pl.col("source_transfer_qty") >= pl.col("pair_spare_qty")),
        "channel_priority": pl.col("is_short")
        & (
            pl.col("is_source_protected")
            | (pl.col("source_transfer_qty") > pl.col("allocated_qty"))
        ),
        "capacity": pl.col("is_need_capped"),
        "partial": pl.col("is_short"),
        "no_vendor_terms": pl.col("vendor_id").is_null(),
    }
    return frame.with_columns(constraints=codes(flags))


def _channel_text(channel: str, priority: str) -> pl.Expr:
    ranked = pl.concat_str(pl.lit(" (priority "), pl.col(priority).cast(pl.String), pl.lit(")"))
    return pl.concat_str(pl.col(channel), ranked.fill_null(""))


def _need_clause() -> pl.Expr:
    capped = pl.when(pl.col("is_need_capped")).then(
        pl.concat_str(
            pl.lit(", cut to "),
            number_text(pl.col("destination_need_qty")),
            pl.lit(" by its capacity "),
            number_text(pl.col("destination_capacity_qty")),
        )
    )
    channel = pl.when(pl.col("destination_channel_id").is_not_null()).then(
        pl.concat_str(
            pl.lit("; it sells most through "),
            _channel_text("destination_channel_id", "destination_priority"),
        )
    )
    return pl.concat_str(
        pl.col("destination_facility_id"),
        pl.lit(" needs "),
        number_text(pl.col("destination_wanted_qty")),
        pl.lit(" (position "),
        number_text(pl.col("destination_position_qty")),
        pl.lit(" at or below its reorder point "),
        number_text(pl.col("destination_reorder_point_qty")),
        pl.lit(", up to "),
        number_text(pl.col("destination_order_up_to_qty")),
        capped,
        channel,
        pl.lit(")."),
        ignore_nulls=True,
    )


def _trade_off_clause() -> pl.Expr:
    transfer = pl.concat_str(
        pl.lit("Transfer "),
        number_text(pl.col("transfer_qty")),
        pl.lit(" from "),
        pl.col("source_facility_id"),
        pl.lit(": "),
        number_text(pl.col("lane_lead_time_days"), 1),
        pl.lit(" days at "),
        money_text(pl.col("lane_cost_per_unit_amount")),
        pl.lit("/unit ("),
        money_text(pl.col("transfer_cost_amount")),
        pl.lit(" "),
        pl.col("lane_currency_code"),
        pl.lit(")"),
    )
    verdict = (
        pl.when(pl.col("is_faster") & pl.col("is_cheaper"))
        .then(pl.lit("faster and cheaper"))
        .when(pl.col("is_faster"))
        .then(pl.lit("faster, though not cheaper per unit"))
        .otherwise(pl.lit("cheaper, though slower"))
    )
    buying = pl.concat_str(
        pl.lit(", against buying from "),
        pl.col("vendor_id"),
        pl.lit(": "),
        number_text(pl.col("vendor_lead_time_days"), 1),
        pl.lit(" days at "),
        money_text(pl.col("vendor_unit_cost_amount")),
        pl.lit("/unit, "),
        number_text(pl.col("vendor_order_qty")),
        pl.lit(" units (MOQ "),
        number_text(pl.col("vendor_moq_qty").fill_null(ZERO)),
        pl.lit(") for "),
        money_text(pl.col("vendor_cost_amount")),
        pl.lit(" "),
        pl.col("vendor_currency_code"),
        pl.lit(" — "),
        verdict,
        pl.lit("."),
    )
    no_vendor = pl.lit("; there are no vendor terms to buy it from.")
    return pl.concat_str(transfer, pl.coalesce(buying, no_vendor))


def _source_clause() -> pl.Expr:
    kept = pl.concat_str(
        pl.col("source_facility_id"),
        pl.lit(" has "),
        number_text(pl.col("source_available_qty")),
        pl.lit(" available and keeps "),
        number_text(pl.col("source_kept_qty")),
    )
    basis = (
        pl.when(pl.col("is_source_protected"))
        .then(
            pl.concat_str(
                pl.lit(" (its reorder point: its "),
                _channel_text("source_channel_id", "source_priority"),
                pl.lit(" ranks above "),
                pl.coalesce(
                    _channel_text("destination_channel_id", "destination_priority"),
                    pl.lit("the destination's"),
                ),
                pl.lit(")"),
            )
        )
        .otherwise(pl.concat_str(pl.lit(" (its "), pl.col("source_floor_basis"), pl.lit(")")))
    )
    short = pl.when(pl.col("is_short")).then(
        pl.concat_str(
            pl.lit("; "),
            number_text(pl.col("destination_need_qty") - pl.col("destination_transfer_qty")),
            pl.lit(" more is left to buy (see the replenishment suggestion)"),
        )
    )
    others = pl.when(pl.col("source_transfer_qty") > pl.col("allocated_qty")).then(
        pl.concat_str(
            pl.lit("; "),
            number_text(pl.col("source_transfer_qty") - pl.col("allocated_qty")),
            pl.lit(" of it goes to other destinations, served in channel-priority order"),
        )
    )
    return pl.concat_str(kept, basis, others, short, pl.lit("."), ignore_nulls=True)


def _cover_clause() -> pl.Expr:
    def change(facility: str, before: str, after: str) -> pl.Expr:
        return pl.concat_str(
            pl.lit(" at "),
            pl.col(facility),
            pl.lit(" "),
            number_text(pl.col(before), 1),
            pl.lit(" → "),
            number_text(pl.col(after), 1),
            pl.lit(" days"),
        )

    destination = change(
        "destination_facility_id", "destination_cover_before_days", "destination_cover_after_days"
    )
    source = change("source_facility_id", "source_cover_before_days", "source_cover_after_days")
    parts = pl.concat_list(destination, source).list.drop_nulls()
    return pl.when(parts.list.len() > 0).then(
        pl.concat_str(pl.lit("Cover"), parts.list.join(";"), pl.lit("."))
    )


OUTPUT_COLUMNS = (
    "as_of_date", "suggestion_id", "variant_id", "source_facility_id", "destination_facility_id",
    "transfer_qty", "destination_need_qty", "destination_wanted_qty", "destination_transfer_qty",
    "destination_position_qty", "destination_reorder_point_qty", "destination_order_up_to_qty",
    "destination_channel_id", "destination_priority", "source_available_qty",
    "source_position_qty", "source_kept_qty", "source_floor_basis", "is_source_protected",
    "pair_spare_qty", "source_transfer_qty", "source_channel_id", "source_priority",
    "lane_lead_time_days", "lane_lead_time_source", "lane_cost_per_unit_amount",
    "transfer_cost_amount", "lane_currency_code", "vendor_id", "vendor_unit_cost_amount",
    "vendor_currency_code", "vendor_lead_time_days", "vendor_moq_qty", "vendor_order_qty",
    "vendor_cost_amount", "is_faster", "is_cheaper", "destination_cover_before_days",
    "destination_cover_after_days", "source_cover_before_days", "source_cover_after_days",
    "constraints", "rationale",
)  # fmt: skip


def transfer_suggestions(
    plan: pl.LazyFrame,
    lanes: pl.LazyFrame,
    lead_time_samples: pl.LazyFrame,
    settings: ModelSettings,
) -> pl.LazyFrame:
    """Transfers from facilities with stock to spare to facilities at or below their reorder
    point, per SKU, built on `replenishment.plan_positions`; `OUTPUT_COLUMNS` in that order."""
    pairs = candidate_pairs(plan, lanes, lead_time_samples, settings)
    frame = with_outcome(allocate(pairs, settings)).with_columns(
        as_of_date=pl.lit(settings.as_of),
        destination_need_qty=pl.col("destination_need_qty").cast(QTY),
        destination_wanted_qty=pl.col("destination_wanted_qty").cast(QTY),
        destination_transfer_qty=pl.col("destination_transfer_qty").cast(QTY),
        pair_spare_qty=pl.col("pair_spare_qty").cast(QTY),
        source_transfer_qty=pl.col("source_transfer_qty").cast(QTY),
    )
    frame = frame.with_columns(
        rationale=sentence(_need_clause(), _trade_off_clause(), _source_clause(), _cover_clause()),
        suggestion_id=suggestion_id(
            "TS",
            pl.col("as_of_date"),
            [pl.col("source_facility_id"), pl.col("destination_facility_id"), pl.col("variant_id")],
            [
                pl.col("transfer_qty"),
                pl.col("destination_position_qty"),
                pl.col("source_position_qty"),
            ],
        ),
    )
    return frame.select(OUTPUT_COLUMNS).sort(
        ["variant_id", "destination_facility_id", "source_facility_id"]
    )
