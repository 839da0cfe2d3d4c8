-- Every issue of a lot-tracked SKU from available stock, and whether it followed FEFO (first
-- expired, first out): it did unless another lot of the same SKU with an earlier expiry, not
-- expired on the issue date, had available stock at that facility just before the issue (in
-- the stock card's business-time order). The earliest such lot is reported as the FEFO lot.
with

card as (

    select * from {{ ref('fct_stock_card') }}

),

lots as (

    select * from {{ ref('dim_lots') }}

),

lot_moves as (

    select
        facility_id,
        variant_id,
        lot_id,
        facility_sequence,
        sum(movement_qty) over (
            partition by facility_id, variant_id, lot_id
            order by facility_sequence
            rows between unbounded preceding and current row
        ) as lot_available_qty,
        movement_qty,
    from card
    where lot_id is not null and bucket = 'available' and movement_qty <> 0

),

transitions as (

    select
        *,
        lot_available_qty > 0 and lot_available_qty - movement_qty <= 0 as starts_stock,
        lot_available_qty <= 0 and lot_available_qty - movement_qty > 0 as ends_stock,
    from lot_moves

),

-- the stretches of the stock card during which a lot had available stock
in_stock_segments as (

    select
        facility_id,
        variant_id,
        lot_id,
        start_sequence,
        end_sequence,
    from (
        select
            facility_id,
            variant_id,
            lot_id,
            facility_sequence as start_sequence,
            starts_stock,
            lead(facility_sequence) over (
                partition by facility_id, variant_id, lot_id order by facility_sequence
            ) as end_sequence,
        from transitions
        where starts_stock or ends_stock
    )
    where starts_stock

),

issues as (

    select
        card.event_id,
        card.facility_id,
        card.variant_id,
        card.lot_id,
        card.occurred_at,
        card.occurred_date,
        card.facility_sequence,
        -card.movement_qty as issued_qty,
        lots.expires_on_date,
    from card
    left join lots on lots.lot_id = card.lot_id
    where card.event_kind = 'issue' and card.lot_id is not null and card.bucket = 'available'

),

earlier_lots as (

    select
        issues.event_id,
        min(lots.expires_on_date) as fefo_expires_on_date,
        arg_min(segments.lot_id, lots.expires_on_date) as fefo_lot_id,
    from issues
    inner join in_stock_segments as segments
        on segments.facility_id = issues.facility_id
        and segments.variant_id = issues.variant_id
        and segments.lot_id <> issues.lot_id
        and segments.start_sequence < issues.facility_sequence
        and coalesce(segments.end_sequence, issues.facility_sequence + 1) > issues.facility_sequence
    inner join lots on lots.lot_id = segments.lot_id
    where lots.expires_on_date < issues.expires_on_date
        and lots.expires_on_date >= issues.occurred_date
    group by all

),

final as (

    select
        issues.event_id,
        issues.facility_id,
        issues.variant_id,
        issues.lot_id,
        issues.occurred_at,
        issues.occurred_date,
        cast(issues.issued_qty as decimal(18, 6)) as issued_qty,
        issues.expires_on_date,
        earlier_lots.event_id is null as is_fefo_compliant,
        earlier_lots.fefo_lot_id,
        earlier_lots.fefo_expires_on_date,
    from issues
    left join earlier_lots on earlier_lots.event_id = issues.event_id

)

select * from final
