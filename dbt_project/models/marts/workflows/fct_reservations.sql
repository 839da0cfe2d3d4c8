-- One row per reservation (a hold of a facility's available stock of one SKU for one order
-- line), with the quantity at each step and when each step happened (the operation's time):
--   allocated_qty / committed_qty = what the allocate / commit transitions moved;
--   short_qty     = released for a short-ship reason (stock that could not be supplied);
--   cancelled_qty = released for any other reason (the order withdrew the demand);
--   expired_qty   = released by the expiry sweep (the cart was abandoned);
--   demanded_qty  = consumed + short + backordered, once closed: the demand that stood;
--   is_filled_in_full = closed with demand and all of it consumed.
with

reservations as (

    select * from {{ ref('stg_ledger__reservations') }}

),

transitions as (

    select * from {{ ref('stg_ledger__reservation_transitions') }}

),

facilities as (

    select * from {{ ref('stg_ledger__facility_keys') }}

),

variants as (

    select * from {{ ref('stg_ledger__variant_keys') }}

),

steps as (

    select
        reservation_id,
        min(occurred_at) filter (where transition_action = 'allocate') as allocated_at,
        sum(transition_qty) filter (where transition_action = 'allocate') as allocated_qty,
        min(occurred_at) filter (where transition_action = 'commit') as committed_at,
        sum(transition_qty) filter (where transition_action = 'commit') as committed_qty,
        min(occurred_at) filter (where transition_action = 'consume') as first_consumed_at,
        max(occurred_at) filter (where transition_action = 'consume') as last_consumed_at,
        min(occurred_at) filter (where transition_action = 'backorder') as backordered_at,
        max(occurred_at) filter (where transition_action in ('release', 'expire'))
            as released_at,
        sum(transition_qty) filter (
            where transition_action = 'release'
                and reason_code in {{ short_ship_reasons() }}
        ) as short_qty,
        sum(transition_qty) filter (
            where transition_action = 'release'
                and reason_code not in {{ short_ship_reasons() }}
        ) as cancelled_qty,
        sum(transition_qty) filter (where transition_action = 'expire') as expired_qty,
    from transitions
    group by all

),

joined as (

    select
        reservations.*,
        facilities.facility_id,
        variants.variant_id,
        steps.allocated_at,
        coalesce(steps.allocated_qty, 0) as allocated_qty,
        steps.committed_at,
        coalesce(steps.committed_qty, 0) as committed_qty,
        steps.first_consumed_at,
        steps.last_consumed_at,
        steps.backordered_at,
        steps.released_at,
        coalesce(steps.short_qty, 0) as short_qty,
        coalesce(steps.cancelled_qty, 0) as cancelled_qty,
        coalesce(steps.expired_qty, 0) as expired_qty,
        reservations.reservation_status in ('consumed', 'released') as is_closed,
    from reservations
    inner join facilities on facilities.facility_key = reservations.facility_key
    inner join variants on variants.variant_key = reservations.variant_key
    left join steps on steps.reservation_id = reservations.reservation_id

),

final as (

    select
        reservation_id,
        channel_id,
        facility_id,
        variant_id,
        order_document_type,
        order_document_id,
        order_line,
        reservation_status,
        close_reason_code,
        is_overcommitted,
        not is_closed as is_open,
        cast(requested_qty as decimal(18, 6)) as reserved_qty,
        cast(allocated_qty as decimal(18, 6)) as allocated_qty,
        cast(committed_qty as decimal(18, 6)) as committed_qty,
        cast(consumed_qty as decimal(18, 6)) as consumed_qty,
        cast(released_qty as decimal(18, 6)) as released_qty,
        cast(short_qty as decimal(18, 6)) as short_qty,
        cast(cancelled_qty as decimal(18, 6)) as cancelled_qty,
        cast(expired_qty as decimal(18, 6)) as expired_qty,
        cast(backordered_qty as decimal(18, 6)) as backordered_qty,
        cast(held_qty as decimal(18, 6)) as held_qty,
        case
            when is_closed then cast(consumed_qty + short_qty + backordered_qty as decimal(18, 6))
        end as demanded_qty,
        is_closed
            and consumed_qty + short_qty + backordered_qty > 0
            and short_qty + backordered_qty = 0 as is_filled_in_full,
        reserved_at,
        allocated_at,
        committed_at,
        first_consumed_at,
        last_consumed_at,
        backordered_at,
        released_at,
        case when is_closed then updated_at end as closed_at,
        expires_at,
        actor as reserved_by,
    from joined

)

select * from final
