-- Fill rate and backorders per channel, facility and calendar month the reservations were
-- made in (reserved_at), over the reservations that have closed (consumed or released):
--   fill_rate      = consumed / demanded quantity, where demanded = consumed + released for a
--                    short-ship reason + backordered (cancelled, failed and expired holds
--                    withdrew their demand and do not count);
--   line_fill_rate = reservations filled in full / reservations with demand;
--   backorder_rate = backordered / demanded quantity.
-- Open reservations are counted apart (their outcome is not known yet).
with

reservations as (

    select * from {{ ref('fct_reservations') }}

),

monthly as (

    select
        cast(date_trunc('month', reserved_at) as date) as month_start_date,
        channel_id,
        facility_id,
        count(*) as reservation_count,
        count(*) filter (where is_open) as open_reservation_count,
        count(*) filter (where not is_open) as closed_reservation_count,
        count(*) filter (where demanded_qty > 0) as demand_reservation_count,
        count(*) filter (where is_filled_in_full) as filled_in_full_count,
        count(*) filter (where backordered_qty > 0) as backordered_reservation_count,
        sum(reserved_qty) as reserved_qty,
        coalesce(sum(demanded_qty), 0) as demanded_qty,
        sum(consumed_qty) filter (where not is_open) as consumed_qty,
        sum(short_qty) as short_qty,
        sum(backordered_qty) as backordered_qty,
        sum(cancelled_qty) as cancelled_qty,
        sum(expired_qty) as expired_qty,
        sum(held_qty) as held_qty,
    from reservations
    group by all

),

final as (

    select
        month_start_date,
        channel_id,
        facility_id,
        cast(reservation_count as integer) as reservation_count,
        cast(open_reservation_count as integer) as open_reservation_count,
        cast(closed_reservation_count as integer) as closed_reservation_count,
        cast(filled_in_full_count as integer) as filled_in_full_count,
        cast(backordered_reservation_count as integer) as backordered_reservation_count,
        cast(reserved_qty as decimal(18, 6)) as reserved_qty,
        cast(demanded_qty as decimal(18, 6)) as demanded_qty,
        cast(coalesce(consumed_qty, 0) as decimal(18, 6)) as filled_qty,
        cast(short_qty as decimal(18, 6)) as short_qty,
        cast(backordered_qty as decimal(18, 6)) as backordered_qty,
        cast(cancelled_qty as decimal(18, 6)) as cancelled_qty,
        cast(expired_qty as decimal(18, 6)) as expired_qty,
        cast(held_qty as decimal(18, 6)) as open_held_qty,
        {{ exact_ratio('coalesce(consumed_qty, 0)', 'demanded_qty') }} as fill_rate,
        {{ exact_ratio('filled_in_full_count', 'demand_reservation_count') }} as line_fill_rate,
        {{ exact_ratio('backordered_qty', 'demanded_qty') }} as backorder_rate,
    from monthly

)

select * from final
