{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['facility_id', 'variant_id'],
        replace_from='valid_from_date',
        on_schema_change='fail',
    )
}}

-- Per facility + SKU, the closing stock at the end of each day it moved and the days that
-- closing holds for (to the day before the next movement; null = still current): on hand (all
-- buckets and owners), available bucket, owned quantity and owned value, plus what was issued
-- that day. The base of the KPI reports, which work on these spans instead of one row per day.

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
        facility_id,
        variant_id,
        min(occurred_date) as new_from_date,
    from card
    where event_id > {{ high_water_mark('max_event_id') }}
    group by all

),

scope as (

    select
        new_scope.facility_id,
        new_scope.variant_id,
        coalesce(max(previous.valid_from_date), new_scope.new_from_date) as replace_from_date,
    from new_scope
    left join previous
        on previous.facility_id = new_scope.facility_id
        and previous.variant_id = new_scope.variant_id
        and previous.valid_from_date < new_scope.new_from_date
    group by new_scope.facility_id, new_scope.variant_id, new_scope.new_from_date

),

scoped_card as (

    select card.*
    from card
    inner join scope
        on scope.facility_id = card.facility_id
        and scope.variant_id = card.variant_id
    where card.occurred_date >= scope.replace_from_date

),

{% else %}

scoped_card as (

    select * from card

),

{% endif %}

movement_days as (

    select
        facility_id,
        variant_id,
        occurred_date as valid_from_date,
        max_by(facility_running_qty, facility_sequence) as on_hand_qty,
        max_by(facility_available_running_qty, facility_sequence) as available_qty,
        max_by(facility_owned_running_qty, facility_sequence) as owned_qty,
        max_by(facility_owned_running_value_amount, facility_sequence) as owned_value_amount,
        coalesce(-sum(movement_qty) filter (
            where coalesce(reversed_event_kind, event_kind) = 'issue'
        ), 0) as issued_qty,
        coalesce(-sum(cost_delta_amount) filter (
            where is_owned and coalesce(reversed_event_kind, event_kind) = 'issue'
        ), 0) as issued_value_amount,
        max(currency_code) as currency_code,
        max(event_id) as max_event_id,
    from scoped_card
    group by all

),

final as (

    select
        facility_id,
        variant_id,
        valid_from_date,
        cast(lead(valid_from_date) over (
            partition by facility_id, variant_id order by valid_from_date
        ) - 1 as date) as valid_to_date,
        cast(on_hand_qty as decimal(18, 6)) as on_hand_qty,
        cast(available_qty as decimal(18, 6)) as available_qty,
        cast(owned_qty as decimal(18, 6)) as owned_qty,
        cast(owned_value_amount as decimal(18, 6)) as owned_value_amount,
        cast(issued_qty as decimal(18, 6)) as issued_qty,
        cast(issued_value_amount as decimal(18, 6)) as issued_value_amount,
        currency_code,
        max_event_id,
    from movement_days

)

select * from final
