{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['position_id'],
        replace_from='valid_from_date',
        on_schema_change='fail',
    )
}}

-- A position's closing balance at the end of each day it moved, and the days it holds for:
-- from that day (valid_from_date) to the day before its next movement (valid_to_date; null for
-- the current balance, which holds to the last business date and beyond). The compact form of
-- the daily snapshots: "as of date D" is the span with valid_from_date <= D and
-- coalesce(valid_to_date, D) >= D. An incremental run rebuilds, per position with new events,
-- the spans from the last one that starts before its earliest new event.

with

card as (

    select * from {{ ref('fct_stock_card') }}

),

{% if is_incremental() %}

previous as (

    select * from {{ this }}

),

new_scope as (

    select
        position_id,
        min(occurred_date) as new_from_date,
    from card
    where event_id > {{ high_water_mark('max_event_id') }}
    group by all

),

scope as (

    select
        new_scope.position_id,
        coalesce(max(previous.valid_from_date), new_scope.new_from_date) as replace_from_date,
    from new_scope
    left join previous
        on previous.position_id = new_scope.position_id
        and previous.valid_from_date < new_scope.new_from_date
    group by new_scope.position_id, new_scope.new_from_date

),

scoped_card as (

    select card.*
    from card
    inner join scope on scope.position_id = card.position_id
    where card.occurred_date >= scope.replace_from_date

),

{% else %}

scoped_card as (

    select * from card

),

{% endif %}

movement_days as (

    select
        position_id,
        occurred_date as valid_from_date,
        max_by(running_qty, position_sequence) as closing_qty,
        max_by(running_value_amount, position_sequence) as closing_value_amount,
        count(*) as movement_count,
        sum(movement_qty) as net_change_qty,
        sum(cost_delta_amount) as net_change_value_amount,
        max(event_id) as max_event_id,
    from scoped_card
    group by all

),

final as (

    select
        position_id,
        valid_from_date,
        cast(lead(valid_from_date) over (
            partition by position_id order by valid_from_date
        ) - 1 as date) as valid_to_date,
        cast(closing_qty as decimal(18, 6)) as closing_qty,
        cast(closing_value_amount as decimal(18, 6)) as closing_value_amount,
        cast(movement_count as bigint) as movement_count,
        cast(net_change_qty as decimal(18, 6)) as net_change_qty,
        cast(net_change_value_amount as decimal(18, 6)) as net_change_value_amount,
        max_event_id,
    from movement_days

)

select * from final
