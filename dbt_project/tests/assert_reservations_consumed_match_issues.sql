-- An asset check on fct_reservations in the pipeline (dagster-dbt reads meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fct_reservations'}}}) }}
-- Reconciliation: what every reservation consumed equals what the issues its consume steps
-- posted took out of the facility's stock of the SKU, on the reservation's channel (an issue
-- of consigned stock is a consignment consumption).
with

reservations as (

    select * from {{ ref('fct_reservations') }}

),

transitions as (

    select * from {{ ref('stg_ledger__reservation_transitions') }}

),

card as (

    select * from {{ ref('fct_stock_card') }}

),

posted as (

    select
        transitions.reservation_id,
        cast(trim(event_id_text) as bigint) as event_id,
    from transitions,
        unnest(string_split(transitions.event_id_list, ',')) as event_ids(event_id_text)
    where transitions.transition_action = 'consume'

),

issued as (

    select
        posted.reservation_id,
        -sum(card.movement_qty) as issued_qty,
        count(*) filter (
            where card.event_kind not in ('issue', 'consignment_consumption')
        ) as other_kind_count,
        any_value(card.facility_id) as facility_id,
        any_value(card.variant_id) as variant_id,
        any_value(card.channel_id) as channel_id,
    from posted
    inner join card on card.event_id = posted.event_id
    group by all

)

select
    reservations.reservation_id,
    reservations.consumed_qty,
    issued.issued_qty,
    issued.other_kind_count,
from reservations
left join issued on issued.reservation_id = reservations.reservation_id
where reservations.consumed_qty <> coalesce(issued.issued_qty, 0)
    or issued.other_kind_count > 0
    or issued.facility_id <> reservations.facility_id
    or issued.variant_id <> reservations.variant_id
    or issued.channel_id <> reservations.channel_id
