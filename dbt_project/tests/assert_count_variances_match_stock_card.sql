-- An asset check on fct_count_lines in the pipeline (dagster-dbt reads meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fct_count_lines'}}}) }}
-- Reconciliation: every finalised count line with a variance has exactly one count_variance
-- event on the stock card, at its facility, bin, SKU and bucket, of the line's variance; and
-- every count_variance event on the card belongs to a count line.
with

count_lines as (

    select * from {{ ref('fct_count_lines') }}

),

card as (

    select * from {{ ref('fct_stock_card') }}

),

variance_events as (

    select * from card where event_kind = 'count_variance'

),

lines_against_card as (

    select
        count_lines.session_id,
        count_lines.line_no,
        count_lines.variance_event_id as event_id,
        count_lines.variance_qty,
        variance_events.movement_qty,
        'line without its variance event' as problem,
    from count_lines
    left join variance_events
        on variance_events.event_id = count_lines.variance_event_id
        and variance_events.facility_id = count_lines.facility_id
        and variance_events.bin_id = count_lines.bin_id
        and variance_events.variant_id = count_lines.variant_id
        and variance_events.bucket = count_lines.bucket
    where count_lines.is_final
        and count_lines.variance_qty <> 0
        and variance_events.movement_qty is distinct from count_lines.variance_qty

),

card_against_lines as (

    select
        null as session_id,
        null as line_no,
        variance_events.event_id,
        null as variance_qty,
        variance_events.movement_qty,
        'count_variance event of no count line' as problem,
    from variance_events
    anti join count_lines on count_lines.variance_event_id = variance_events.event_id

)

select * from lines_against_card
union all
select * from card_against_lines
