{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['position_id'],
        replace_from='period_starts_at',
        on_schema_change='fail',
    )
}}

-- Per period and position: opening, inbound, outbound, adjustments and closing, in quantity and
-- value, categorised exactly as the ledger's period close (closing = opening + inbound
-- - outbound + adjustments; outbound is reported as a positive number). A position has a row
-- in a period when it moved in it or opened it with stock or value, as in the ledger's snapshot.
-- An incremental run rebuilds, per position with new events, the periods from the earliest
-- period they fall in, and carries positions with stock into periods that are new.

with

card as (

    select * from {{ ref('fct_stock_card') }}

),

positions as (

    select * from {{ ref('dim_positions') }}

),

periods as (

    select * from {{ ref('stg_ledger__periods') }}

),

{% if is_incremental() %}

previous as (

    select * from {{ this }}

),

watermark as (

    select
        coalesce(max(max_event_id), 0) as max_event_id,
        max(period_starts_at) as previous_last_starts_at,
    from previous

),

scope as (

    select
        position_id,
        min(replace_from_at) as replace_from_at,
    from (
        select
            card.position_id,
            periods.starts_at as replace_from_at,
        from card
        inner join periods on periods.period_id = card.period_id
        where card.event_id > {{ high_water_mark('max_event_id') }}

        union all

        -- positions holding stock at the end of the last known period open every new one
        select
            previous.position_id,
            (
                select min(starts_at) from periods
                where starts_at > (select previous_last_starts_at from watermark)
            ) as replace_from_at,
        from previous
        where previous.period_starts_at = (select previous_last_starts_at from watermark)
            and (previous.closing_qty <> 0 or previous.closing_value_amount <> 0)
    )
    where replace_from_at is not null
    group by all

),

openings as (

    select
        previous.position_id,
        previous.closing_qty as opening_qty,
        previous.closing_value_amount as opening_value_amount,
    from previous
    inner join scope on scope.position_id = previous.position_id
    where previous.period_starts_at < scope.replace_from_at
    qualify row_number() over (
        partition by previous.position_id order by previous.period_starts_at desc
    ) = 1

),

{% else %}

scope as (

    select
        card.position_id,
        min(periods.starts_at) as replace_from_at,
    from card
    inner join periods on periods.period_id = card.period_id
    group by all

),

openings as (

    select
        cast(null as bigint) as position_id,
        cast(null as decimal(18, 6)) as opening_qty,
        cast(null as decimal(18, 6)) as opening_value_amount,
    where false

),

{% endif %}

categorised as (

    select
        card.*,
        {{ period_category(
            'coalesce(card.reversed_event_kind, card.event_kind)',
            'card.movement_qty',
            'card.cost_delta_amount',
        ) }} as period_category,
    from card

),

movements as (

    select
        card.position_id,
        card.period_id,
        count(*) as movement_count,
        max(card.event_id) as max_event_id,
        sum(card.movement_qty) as net_qty,
        sum(card.cost_delta_amount) as net_value_amount,
        sum(card.movement_qty) filter (where card.period_category = 'inbound') as inbound_qty,
        -sum(card.movement_qty) filter (where card.period_category = 'outbound') as outbound_qty,
        sum(card.movement_qty) filter (where card.period_category = 'adjustment')
            as adjustment_qty,
        sum(card.cost_delta_amount) filter (where card.period_category = 'inbound')
            as inbound_value_amount,
        -sum(card.cost_delta_amount) filter (where card.period_category = 'outbound')
            as outbound_value_amount,
        sum(card.cost_delta_amount) filter (where card.period_category = 'adjustment')
            as adjustment_value_amount,
    from categorised as card
    inner join scope on scope.position_id = card.position_id
    inner join periods on periods.period_id = card.period_id
    where periods.starts_at >= scope.replace_from_at
    group by all

),

position_periods as (

    select
        scope.position_id,
        periods.period_id,
        periods.starts_at,
        periods.ends_at,
        coalesce(movements.movement_count, 0) as movement_count,
        movements.max_event_id,
        coalesce(movements.inbound_qty, 0) as inbound_qty,
        coalesce(movements.outbound_qty, 0) as outbound_qty,
        coalesce(movements.adjustment_qty, 0) as adjustment_qty,
        coalesce(movements.inbound_value_amount, 0) as inbound_value_amount,
        coalesce(movements.outbound_value_amount, 0) as outbound_value_amount,
        coalesce(movements.adjustment_value_amount, 0) as adjustment_value_amount,
        coalesce(openings.opening_qty, 0) + coalesce(sum(movements.net_qty) over running, 0)
            as closing_qty,
        coalesce(openings.opening_value_amount, 0)
            + coalesce(sum(movements.net_value_amount) over running, 0) as closing_value_amount,
    from scope
    inner join periods on periods.starts_at >= scope.replace_from_at
    left join movements
        on movements.position_id = scope.position_id
        and movements.period_id = periods.period_id
    left join openings on openings.position_id = scope.position_id
    window running as (
        partition by scope.position_id
        order by periods.starts_at
        rows between unbounded preceding and current row
    )

),

with_openings as (

    select
        *,
        closing_qty - inbound_qty + outbound_qty - adjustment_qty as opening_qty,
        closing_value_amount - inbound_value_amount + outbound_value_amount
            - adjustment_value_amount as opening_value_amount,
    from position_periods

),

final as (

    select
        with_openings.period_id,
        with_openings.starts_at as period_starts_at,
        with_openings.ends_at as period_ends_at,
        with_openings.position_id,
        positions.facility_id,
        positions.bin_id,
        positions.variant_id,
        positions.item_id,
        positions.lot_id,
        positions.bucket,
        positions.owner_id,
        positions.is_owned,
        positions.currency_code,
        cast(with_openings.opening_qty as decimal(18, 6)) as opening_qty,
        cast(with_openings.inbound_qty as decimal(18, 6)) as inbound_qty,
        cast(with_openings.outbound_qty as decimal(18, 6)) as outbound_qty,
        cast(with_openings.adjustment_qty as decimal(18, 6)) as adjustment_qty,
        cast(with_openings.closing_qty as decimal(18, 6)) as closing_qty,
        cast(with_openings.opening_value_amount as decimal(18, 6)) as opening_value_amount,
        cast(with_openings.inbound_value_amount as decimal(18, 6)) as inbound_value_amount,
        cast(with_openings.outbound_value_amount as decimal(18, 6)) as outbound_value_amount,
        cast(with_openings.adjustment_value_amount as decimal(18, 6)) as adjustment_value_amount,
        cast(with_openings.closing_value_amount as decimal(18, 6)) as closing_value_amount,
        cast(with_openings.movement_count as bigint) as movement_count,
        with_openings.max_event_id,
    from with_openings
    inner join positions on positions.position_id = with_openings.position_id
    where with_openings.movement_count > 0
        or with_openings.opening_qty <> 0
        or with_openings.opening_value_amount <> 0

)

select * from final
