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
-- movement. A day on which a position holds nothing (zero quantity and value) and nothing moved
-- has no row: absent means zero.
-- An incremental run rebuilds, for each position with new events, the days from its earliest
-- new event on, and carries every other position forward over the days the data has grown by.

with

card as (

    select * from {{ ref('fct_stock_card') }}

),

positions as (

    select * from {{ ref('dim_positions') }}

),

data_end as (

    select max(occurred_date) as end_date from card

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

new_scope as (

    select
        position_id,
        min(occurred_date) as replace_from_date,
    from card
    where event_id > (select max_event_id from watermark)
    group by all

),

scoped_card as (

    select card.*
    from card
    inner join new_scope on new_scope.position_id = card.position_id
    where card.occurred_date >= new_scope.replace_from_date

),

-- the last day each affected position had before its rebuilt days, and the last day of every
-- other position, carried forward from the day after
carried_rows as (

    select
        previous.position_id,
        previous.snapshot_date,
        previous.closing_qty,
        previous.closing_value_amount,
    from previous
    inner join new_scope on new_scope.position_id = previous.position_id
    where previous.snapshot_date < new_scope.replace_from_date
    qualify row_number() over (
        partition by previous.position_id order by previous.snapshot_date desc
    ) = 1

    union all

    select
        previous.position_id,
        previous.snapshot_date,
        previous.closing_qty,
        previous.closing_value_amount,
    from previous
    anti join new_scope on new_scope.position_id = previous.position_id
    where previous.snapshot_date = (select previous_end_date from watermark)

),

{% else %}

scoped_card as (

    select * from card

),

carried_rows as (

    select
        cast(null as bigint) as position_id,
        cast(null as date) as snapshot_date,
        cast(null as decimal(18, 6)) as closing_qty,
        cast(null as decimal(18, 6)) as closing_value_amount,
    where false

),

{% endif %}

movement_days as (

    select
        position_id,
        occurred_date as movement_date,
        max_by(running_qty, position_sequence) as closing_qty,
        max_by(running_value_amount, position_sequence) as closing_value_amount,
        count(*) as movement_count,
        sum(movement_qty) as net_change_qty,
        sum(cost_delta_amount) as net_change_value_amount,
        max(event_id) as max_event_id,
        false as is_carried,
    from scoped_card
    group by all

),

carried_days as (

    select
        position_id,
        snapshot_date as movement_date,
        closing_qty,
        closing_value_amount,
        0 as movement_count,
        0 as net_change_qty,
        0 as net_change_value_amount,
        cast(null as bigint) as max_event_id,
        true as is_carried,
    from carried_rows
    where closing_qty <> 0 or closing_value_amount <> 0

),

spans as (

    select
        *,
        -- a day's closing holds until the day before the position's next movement
        case
            when closing_qty = 0 and closing_value_amount = 0 then movement_date
            else coalesce(
                cast(lead(movement_date) over (
                    partition by position_id order by movement_date
                ) - 1 as date),
                (select end_date from data_end)
            )
        end as valid_to_date,
    from (
        select * from movement_days
        union all by name
        select * from carried_days
    )

),

expanded as (

    select
        spans.*,
        cast(unnest(generate_series(
            case when is_carried then movement_date + 1 else movement_date end,
            valid_to_date,
            interval 1 day
        )) as date) as snapshot_date,
    from spans

),

final as (

    select
        expanded.snapshot_date,
        expanded.position_id,
        positions.facility_id,
        positions.bin_id,
        positions.variant_id,
        positions.item_id,
        positions.lot_id,
        positions.bucket,
        positions.owner_id,
        positions.is_owned,
        positions.currency_code,
        cast(expanded.closing_qty as decimal(18, 6)) as closing_qty,
        cast(expanded.closing_value_amount as decimal(18, 6)) as closing_value_amount,
        expanded.snapshot_date = expanded.movement_date and not expanded.is_carried
            as has_movement,
        cast(case when expanded.snapshot_date = expanded.movement_date
            then expanded.movement_count else 0 end as bigint) as movement_count,
        cast(case when expanded.snapshot_date = expanded.movement_date
            then expanded.net_change_qty else 0 end as decimal(18, 6)) as net_change_qty,
        cast(case when expanded.snapshot_date = expanded.movement_date
            then expanded.net_change_value_amount else 0 end as decimal(18, 6))
            as net_change_value_amount,
        case when expanded.snapshot_date = expanded.movement_date
            then expanded.max_event_id end as max_event_id,
    from expanded
    inner join positions on positions.position_id = expanded.position_id

)

select * from final
