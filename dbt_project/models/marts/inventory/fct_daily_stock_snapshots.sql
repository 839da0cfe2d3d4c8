{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['position_id'],
        replace_from='snapshot_date',
        on_schema_change='fail',
    )
}}

-- Closing quantity and value of every position at the end of every day, from its first
-- movement to the last business date in the warehouse, carried forward over days without
-- movement (the balance spans expanded to days). A day on which a position holds nothing (zero
-- quantity and value) and nothing moved has no row: absent means zero. Facility, bin, SKU,
-- lot, bucket and owner are in dim_positions.
-- An incremental run rebuilds, per position with new events, the days from its earliest new
-- event on, and carries every other position's balance over the days the data has grown by.

with

spans as (

    select * from {{ ref('fct_stock_balance_spans') }}

),

data_end as (

    select max(valid_from_date) as end_date from spans

),

{% if is_incremental() %}

previous as (

    select * from {{ this }}

),

watermark as (

    select
        coalesce(max(max_event_id), 0) as max_event_id,
        max(snapshot_date) as previous_end_date,
    from previous

),

-- positions with new events, from their earliest new day, or from the first day the data
-- has grown by if that comes first (those days have no rows yet)
scope as (

    select
        spans.position_id,
        least(
            min(spans.valid_from_date),
            cast(any_value(watermark.previous_end_date) + 1 as date)
        ) as replace_from_date,
    from spans
    cross join watermark
    where spans.max_event_id > {{ high_water_mark('max_event_id') }}
    group by spans.position_id

),

scoped_spans as (

    -- affected positions: every span reaching their earliest new day, from that day on
    select
        spans.*,
        greatest(spans.valid_from_date, scope.replace_from_date) as expand_from_date,
    from spans
    inner join scope on scope.position_id = spans.position_id
    cross join data_end
    where coalesce(spans.valid_to_date, data_end.end_date) >= scope.replace_from_date

    union all by name

    -- every other position: its current balance over the days added since the last run
    select
        spans.*,
        cast(watermark.previous_end_date + 1 as date) as expand_from_date,
    from spans
    anti join scope on scope.position_id = spans.position_id
    cross join watermark
    cross join data_end
    where spans.valid_to_date is null
        and watermark.previous_end_date < data_end.end_date
        and (spans.closing_qty <> 0 or spans.closing_value_amount <> 0)

),

{% else %}

scoped_spans as (

    select
        *,
        valid_from_date as expand_from_date,
    from spans

),

{% endif %}

bounded as (

    select
        scoped_spans.*,
        -- a span at zero only shows the day it moved
        case
            when closing_qty = 0 and closing_value_amount = 0 then valid_from_date
            else coalesce(valid_to_date, data_end.end_date)
        end as expand_to_date,
    from scoped_spans
    -- single-row CTEs are joined, not subqueried, inside per-row expressions (much faster)
    cross join data_end

),

expanded as (

    select
        position_id,
        valid_from_date,
        closing_qty,
        closing_value_amount,
        movement_count,
        max_event_id,
        unnest(range(
            datediff('day', valid_from_date, expand_from_date),
            datediff('day', valid_from_date, expand_to_date) + 1
        )) as day_offset,
    from bounded
    where expand_to_date >= expand_from_date

),

final as (

    select
        cast(valid_from_date + cast(day_offset as integer) as date) as snapshot_date,
        position_id,
        closing_qty,
        closing_value_amount,
        day_offset = 0 as has_movement,
        cast(case when day_offset = 0 then movement_count else 0 end as bigint) as movement_count,
        case when day_offset = 0 then max_event_id end as max_event_id,
    from expanded

)

select * from final
