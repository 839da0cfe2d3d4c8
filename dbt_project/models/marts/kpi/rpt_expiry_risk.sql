-- Lots on hand at the last business date and how close they are to expiry, per facility and
-- lot: expired (expiry before the as-of date), at_risk (expiring within var expiry_risk_days)
-- or ok. Quantities over every bin, bucket and owner; value of the owned part.
with

spans as (

    select * from {{ ref('fct_stock_balance_spans') }}

),

positions as (

    select * from {{ ref('dim_positions') }}

),

lots as (

    select * from {{ ref('dim_lots') }}

),

as_of as (

    select max(valid_from_date) as as_of_date from spans

),

on_hand as (

    select
        positions.facility_id,
        positions.lot_id,
        any_value(positions.variant_id) as variant_id,
        any_value(positions.item_id) as item_id,
        sum(spans.closing_qty) as on_hand_qty,
        coalesce(sum(spans.closing_qty) filter (where positions.bucket = 'available'), 0)
            as available_qty,
        coalesce(sum(spans.closing_value_amount) filter (where positions.is_owned), 0)
            as owned_value_amount,
        max(positions.currency_code) as currency_code,
    from spans
    inner join positions on positions.position_id = spans.position_id
    -- the current balance of every position holding a lot
    where spans.valid_to_date is null
        and positions.lot_id is not null
    group by all
    having sum(closing_qty) > 0

),

final as (

    select
        (select as_of_date from as_of) as as_of_date,
        on_hand.facility_id,
        on_hand.lot_id,
        on_hand.variant_id,
        on_hand.item_id,
        lots.lot_number,
        lots.expires_on_date,
        cast(datediff('day', (select as_of_date from as_of), lots.expires_on_date) as integer)
            as days_to_expiry,
        case
            when lots.expires_on_date is null then 'no_expiry'
            when lots.expires_on_date < (select as_of_date from as_of) then 'expired'
            when datediff('day', (select as_of_date from as_of), lots.expires_on_date)
                <= {{ var('expiry_risk_days') }} then 'at_risk'
            else 'ok'
        end as expiry_status,
        cast(on_hand.on_hand_qty as decimal(18, 6)) as on_hand_qty,
        cast(on_hand.available_qty as decimal(18, 6)) as available_qty,
        cast(on_hand.owned_value_amount as decimal(18, 6)) as owned_value_amount,
        on_hand.currency_code,
    from on_hand
    left join lots on lots.lot_id = on_hand.lot_id

)

select * from final
