-- Every stock event with what the marts keep asking for: the item and its costing method,
-- whether the organisation owns the stock, the kind a reversal takes back, its business date
-- and how it counts in a period snapshot.
with

events as (

    select * from {{ ref('stg_ledger__events') }}

),

variants as (

    select * from {{ ref('stg_ledger__variants') }}

),

items as (

    select * from {{ ref('stg_ledger__items') }}

),

parties as (

    select * from {{ ref('stg_ledger__parties') }}

),

reversals as (

    select
        event_id as reversal_event_id,
        reverses_event_id,
    from events
    where reverses_event_id is not null

),

reversed_originals as (

    select
        events.event_id,
        events.event_kind,
        events.reason_code,
    from events
    semi join reversals on reversals.reverses_event_id = events.event_id

),

final as (

    select
        events.*,
        variants.item_id,
        items.costing_method,
        items.is_lot_tracked,
        parties.party_kind = 'org' as is_owned,
        reversed_originals.event_kind as reversed_event_kind,
        coalesce(reversed_originals.event_kind, events.event_kind) as effective_event_kind,
        coalesce(events.reason_code, reversed_originals.reason_code) as effective_reason_code,
        reversals.reversal_event_id as reversed_by_event_id,
        reversals.reversal_event_id is not null as is_reversed,
        cast(events.occurred_at as date) as occurred_date,
        {{ period_category(
            'coalesce(reversed_originals.event_kind, events.event_kind)',
            'events.movement_qty',
            'events.cost_delta_amount',
        ) }} as period_category,

    from events
    left join variants on variants.variant_id = events.variant_id
    left join items on items.item_id = variants.item_id
    left join parties on parties.party_id = events.owner_id
    left join reversed_originals on reversed_originals.event_id = events.reverses_event_id
    left join reversals on reversals.reverses_event_id = events.event_id

)

select * from final
