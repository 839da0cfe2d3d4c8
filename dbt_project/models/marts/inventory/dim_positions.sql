-- One row per stock position (facility, bin, SKU, lot, bucket, owner) with the ledger's
-- position id. The ledger's balance table lists every position it ever opened, so the
-- dimension is read from there; a position that only the extracted events know (should the
-- state be older than the events) is taken from its events.
with

balances as (

    select * from {{ ref('stg_ledger__balances') }}

),

events as (

    select * from {{ ref('stg_ledger__events') }}

),

parties as (

    select * from {{ ref('stg_ledger__parties') }}

),

variants as (

    select * from {{ ref('stg_ledger__variants') }}

),

facilities as (

    select * from {{ ref('stg_ledger__facilities') }}

),

event_positions as (

    select distinct position_id from events

),

from_events as (

    select
        events.position_id,
        any_value(events.facility_id) as facility_id,
        any_value(events.bin_id) as bin_id,
        any_value(events.bin_code) as bin_code,
        any_value(events.variant_id) as variant_id,
        any_value(events.lot_id) as lot_id,
        any_value(events.lot_number) as lot_number,
        any_value(events.bucket) as bucket,
        any_value(events.owner_id) as owner_id,
    from events
    semi join (
        select position_id from event_positions
        except
        select position_id from balances
    ) as missing on missing.position_id = events.position_id
    group by events.position_id

),

positions as (

    select
        position_id,
        facility_id,
        bin_id,
        bin_code,
        variant_id,
        lot_id,
        lot_number,
        bucket,
        owner_id,
    from balances

    union all by name

    select * from from_events

),

final as (

    select
        positions.position_id,
        positions.facility_id,
        positions.bin_id,
        positions.bin_code,
        positions.variant_id,
        variants.item_id,
        positions.lot_id,
        positions.lot_number,
        positions.bucket,
        positions.owner_id,
        coalesce(parties.party_kind = 'org', false) as is_owned,
        -- owned stock is valued in the facility's currency; consigned stock is not valued
        case when parties.party_kind = 'org' then facilities.currency_code end as currency_code,
    from positions
    left join variants on variants.variant_id = positions.variant_id
    left join parties on parties.party_id = positions.owner_id
    left join facilities on facilities.facility_id = positions.facility_id

)

select * from final
