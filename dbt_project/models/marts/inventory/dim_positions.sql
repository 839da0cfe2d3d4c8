-- One row per stock position (facility, bin, SKU, lot, bucket, owner) that has ever moved,
-- with the ledger's position id.
with

events as (

    select * from {{ ref('int_stock_events_enriched') }}

),

positions as (

    select
        position_id,
        any_value(facility_id) as facility_id,
        any_value(bin_id) as bin_id,
        any_value(bin_code) as bin_code,
        any_value(variant_id) as variant_id,
        any_value(item_id) as item_id,
        any_value(lot_id) as lot_id,
        any_value(lot_number) as lot_number,
        any_value(bucket) as bucket,
        any_value(owner_id) as owner_id,
        bool_or(is_owned) as is_owned,
        max(currency_code) as currency_code,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at,
        count(*) as event_count,
    from events
    group by position_id

),

final as (

    select
        position_id,
        facility_id,
        bin_id,
        bin_code,
        variant_id,
        item_id,
        lot_id,
        lot_number,
        bucket,
        owner_id,
        coalesce(is_owned, false) as is_owned,
        currency_code,
        first_occurred_at,
        last_occurred_at,
        cast(event_count as bigint) as event_count,
    from positions

)

select * from final
