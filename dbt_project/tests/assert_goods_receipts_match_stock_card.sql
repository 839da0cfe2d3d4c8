-- An asset check on fct_receipts in the pipeline (dagster-dbt reads meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fct_receipts'}}}) }}
-- Reconciliation: every goods receipt line's quantity is its receipt event on the stock card,
-- in the bin and bucket it landed in, and every expected line's received quantity is the sum
-- of those events.
with

goods_receipt_lines as (

    select * from {{ ref('stg_ledger__goods_receipt_lines') }}

),

locations as (

    select * from {{ ref('stg_ledger__location_keys') }}

),

receipts as (

    select * from {{ ref('fct_receipts') }}

),

card as (

    select * from {{ ref('fct_stock_card') }}

),

per_line as (

    select
        goods_receipt_lines.receipt_id,
        goods_receipt_lines.line_no,
        goods_receipt_lines.event_id,
        goods_receipt_lines.received_qty,
        card.movement_qty,
        card.event_kind,
        card.bin_id = locations.bin_id and card.bucket = goods_receipt_lines.bucket
            as is_where_it_landed,
    from goods_receipt_lines
    inner join locations on locations.location_key = goods_receipt_lines.location_key
    left join card on card.event_id = goods_receipt_lines.event_id

),

per_expected_line as (

    select
        receipt_id,
        line_no,
        sum(movement_qty) as card_received_qty,
    from per_line
    group by all

)

select
    per_line.receipt_id,
    per_line.line_no,
    per_line.event_id,
    'goods receipt line differs from its event' as problem,
from per_line
where per_line.movement_qty is distinct from per_line.received_qty
    or per_line.event_kind is distinct from 'receipt'
    or not coalesce(per_line.is_where_it_landed, false)

union all

select
    receipts.receipt_id,
    receipts.line_no,
    null,
    'received quantity differs from the receipt events',
from receipts
left join per_expected_line
    on per_expected_line.receipt_id = receipts.receipt_id
    and per_expected_line.line_no = receipts.line_no
where receipts.received_qty <> coalesce(per_expected_line.card_received_qty, 0)
