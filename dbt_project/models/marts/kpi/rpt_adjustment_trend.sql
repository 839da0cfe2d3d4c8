-- Adjustments by reason code per facility and calendar month: how many, how much stock came in
-- and went out, and their net value at cost — adjustments, count variances and cost
-- adjustments (the ledger's "adjustments" category). A reversal counts with the kind and reason
-- it reverses. `previous_net_value_amount` is the same facility + reason's previous month with
-- adjustments, for the trend.
with

card as (

    select * from {{ ref('fct_stock_card') }}

),

reasons as (

    select * from {{ ref('dim_reason_codes') }}

),

adjustments as (

    select
        card.*,
        coalesce(card.reversed_event_kind, card.event_kind) as adjustment_kind,
    from card
    where coalesce(card.reversed_event_kind, card.event_kind)
        in ('adjustment', 'count_variance', 'cost_adjustment')

),

-- a reversal carries no reason code itself: take the reason of the event it reverses
reasoned as (

    select
        adjustments.*,
        coalesce(adjustments.reason_code, originals.reason_code) as adjustment_reason_code,
    from adjustments
    left join card as originals on originals.event_id = adjustments.reverses_event_id

),

monthly as (

    select
        cast(date_trunc('month', occurred_date) as date) as month_start_date,
        facility_id,
        adjustment_reason_code as reason_code,
        adjustment_kind as event_kind,
        max(currency_code) as currency_code,
        count(*) as event_count,
        coalesce(sum(movement_qty) filter (where movement_qty > 0), 0) as increase_qty,
        coalesce(-sum(movement_qty) filter (where movement_qty < 0), 0) as decrease_qty,
        sum(movement_qty) as net_qty,
        sum(cost_delta_amount) as net_value_amount,
    from reasoned
    group by all

),

final as (

    select
        monthly.month_start_date,
        monthly.facility_id,
        monthly.reason_code,
        reasons.reason_description,
        monthly.event_kind,
        cast(monthly.event_count as bigint) as event_count,
        cast(monthly.increase_qty as decimal(18, 6)) as increase_qty,
        cast(monthly.decrease_qty as decimal(18, 6)) as decrease_qty,
        cast(monthly.net_qty as decimal(18, 6)) as net_qty,
        cast(monthly.net_value_amount as decimal(18, 6)) as net_value_amount,
        cast(lag(monthly.net_value_amount) over (
            partition by monthly.facility_id, monthly.reason_code, monthly.event_kind
            order by monthly.month_start_date
        ) as decimal(18, 6)) as previous_net_value_amount,
        monthly.currency_code,
    from monthly
    left join reasons on reasons.reason_code = monthly.reason_code

)

select * from final
