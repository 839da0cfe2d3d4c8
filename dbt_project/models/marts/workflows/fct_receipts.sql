-- One row per expected receipt line (a purchase-order or ASN line) with what its goods
-- receipts brought and what QC decided:
--   over_qty         = received beyond expected (within the receipt's tolerance);
--   short_qty        = expected − received when the receipt was closed short (under-receipt);
--   outstanding_qty  = expected − received while the receipt is still open;
--   quarantined_qty  = received into quarantine; qc_released_qty / qc_damaged_qty = QC
--                      decisions to available / to damaged (a decision names the receipt and
--                      the SKU, not the line: it counts on the receipt's first line of the SKU);
--   awaiting_qc_qty  = quarantined − QC decided;
--   order_to_receipt_hours = ordered_at (when the expected receipt was registered, a system
--                      time) → first receipt (business time); null when the receipt is dated
--                      before the registration (a back-dated history);
--   receipt_delay_hours = expected_at → first receipt (negative = early);
--   is_received_on_time = first receipt at or before expected_at.
with

receipts as (

    select * from {{ ref('stg_ledger__expected_receipts') }}

),

receipt_lines as (

    select * from {{ ref('stg_ledger__expected_receipt_lines') }}

),

goods_receipts as (

    select * from {{ ref('stg_ledger__goods_receipts') }}

),

goods_receipt_lines as (

    select * from {{ ref('stg_ledger__goods_receipt_lines') }}

),

qc_decisions as (

    select * from {{ ref('stg_ledger__qc_decisions') }}

),

facilities as (

    select * from {{ ref('stg_ledger__facility_keys') }}

),

variants as (

    select * from {{ ref('stg_ledger__variant_keys') }}

),

parties as (

    select * from {{ ref('stg_ledger__party_keys') }}

),

received as (

    select
        goods_receipt_lines.receipt_id,
        goods_receipt_lines.line_no,
        count(distinct goods_receipt_lines.goods_receipt_id) as goods_receipt_count,
        sum(goods_receipt_lines.received_qty) as received_qty,
        coalesce(sum(goods_receipt_lines.received_qty) filter (
            where goods_receipt_lines.bucket = 'quarantine'
        ), 0) as quarantined_qty,
        min(goods_receipts.received_at) as first_received_at,
        max(goods_receipts.received_at) as last_received_at,
    from goods_receipt_lines
    inner join goods_receipts
        on goods_receipts.goods_receipt_id = goods_receipt_lines.goods_receipt_id
    group by all

),

first_line_of_sku as (

    select
        receipt_id,
        variant_key,
        min(line_no) as line_no,
    from receipt_lines
    group by all

),

decided as (

    select
        first_line_of_sku.receipt_id,
        first_line_of_sku.line_no,
        coalesce(sum(qc_decisions.decided_qty) filter (
            where qc_decisions.to_bucket = 'available'
        ), 0) as qc_released_qty,
        coalesce(sum(qc_decisions.decided_qty) filter (
            where qc_decisions.to_bucket = 'damaged'
        ), 0) as qc_damaged_qty,
        min(qc_decisions.decided_at) as first_qc_decided_at,
    from qc_decisions
    inner join first_line_of_sku
        on first_line_of_sku.receipt_id = qc_decisions.receipt_id
        and first_line_of_sku.variant_key = qc_decisions.variant_key
    group by all

),

joined as (

    select
        receipt_lines.receipt_id,
        receipt_lines.line_no,
        receipts.receipt_reference,
        receipts.document_type,
        facilities.facility_id,
        vendors.party_id as vendor_id,
        variants.variant_id,
        receipt_lines.lot_number,
        receipts.receipt_status,
        receipts.is_qc_required,
        receipts.close_reason_code,
        receipts.registered_at as ordered_at,
        receipts.expected_at,
        received.first_received_at,
        received.last_received_at,
        decided.first_qc_decided_at,
        receipts.closed_at,
        coalesce(received.goods_receipt_count, 0) as goods_receipt_count,
        receipt_lines.expected_qty,
        coalesce(received.received_qty, 0) as received_qty,
        coalesce(received.quarantined_qty, 0) as quarantined_qty,
        coalesce(decided.qc_released_qty, 0) as qc_released_qty,
        coalesce(decided.qc_damaged_qty, 0) as qc_damaged_qty,
        receipt_lines.unit_cost_amount,
        receipt_lines.currency_code,
    from receipt_lines
    inner join receipts on receipts.receipt_id = receipt_lines.receipt_id
    inner join facilities on facilities.facility_key = receipts.facility_key
    inner join variants on variants.variant_key = receipt_lines.variant_key
    left join parties as vendors on vendors.party_key = receipts.vendor_key
    left join received
        on received.receipt_id = receipt_lines.receipt_id
        and received.line_no = receipt_lines.line_no
    left join decided
        on decided.receipt_id = receipt_lines.receipt_id
        and decided.line_no = receipt_lines.line_no

),

final as (

    select
        receipt_id,
        cast(line_no as integer) as line_no,
        receipt_reference,
        document_type,
        facility_id,
        vendor_id,
        variant_id,
        lot_number,
        receipt_status,
        is_qc_required,
        close_reason_code,
        ordered_at,
        expected_at,
        first_received_at,
        last_received_at,
        first_qc_decided_at,
        closed_at,
        cast(goods_receipt_count as integer) as goods_receipt_count,
        cast(expected_qty as decimal(18, 6)) as expected_qty,
        cast(received_qty as decimal(18, 6)) as received_qty,
        cast(greatest(received_qty - expected_qty, 0) as decimal(18, 6)) as over_qty,
        cast(
            case when receipt_status = 'closed_short' then greatest(expected_qty - received_qty, 0)
            else 0 end as decimal(18, 6)
        ) as short_qty,
        cast(
            case when receipt_status in ('open', 'partially_received')
                then greatest(expected_qty - received_qty, 0)
            else 0 end as decimal(18, 6)
        ) as outstanding_qty,
        cast(quarantined_qty as decimal(18, 6)) as quarantined_qty,
        cast(qc_released_qty as decimal(18, 6)) as qc_released_qty,
        cast(qc_damaged_qty as decimal(18, 6)) as qc_damaged_qty,
        cast(greatest(quarantined_qty - qc_released_qty - qc_damaged_qty, 0) as decimal(18, 6))
            as awaiting_qc_qty,
        unit_cost_amount,
        currency_code,
        case
            when first_received_at >= ordered_at
                then {{ hours_between('ordered_at', 'first_received_at') }}
        end as order_to_receipt_hours,
        {{ hours_between('expected_at', 'first_received_at') }} as receipt_delay_hours,
        case
            when expected_at is not null and first_received_at is not null
                then first_received_at <= expected_at
        end as is_received_on_time,
    from joined

)

select * from final
