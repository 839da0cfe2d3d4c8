-- Shrinkage per facility + SKU and calendar month: stock lost to adjustments and count
-- variances that no sale explains (net of found stock and of reversals, which count with the
-- kind they reverse), in quantity and at cost (owned stock only for value):
--   shrink_qty / shrink_value_amount = -(net adjustment and count-variance movement),
--                                      positive when stock was lost;
--   shrink_rate = shrink value / cost of goods issued in the same month (null without issues).
-- Adjustments whose reason is not a loss or a find (var non_shrink_reason_codes, e.g. the
-- opening balances taken over from a previous system) are left out; a reversal counts with the
-- reason of the event it reverses. Reasons are broken down in rpt_adjustment_trend.
with

events as (

    select * from {{ ref('fct_stock_card') }}

),

adjustment_reasons as (

    select
        event_id,
        reason_code,
    from events
    where event_kind in ('adjustment', 'count_variance')

),

card as (

    select
        events.*,
        coalesce(
            events.reason_code, adjustment_reasons.reason_code
        ) in {{ sql_list(var('non_shrink_reason_codes')) }} as is_not_shrink,
    from events
    left join adjustment_reasons
        on adjustment_reasons.event_id = events.reverses_event_id

),

monthly as (

    select
        facility_id,
        variant_id,
        cast(date_trunc('month', occurred_date) as date) as month_start_date,
        max(currency_code) as currency_code,
        -sum(movement_qty) filter (
            where coalesce(reversed_event_kind, event_kind) in ('adjustment', 'count_variance')
                and not coalesce(is_not_shrink, false)
        ) as shrink_qty,
        -sum(cost_delta_amount) filter (
            where is_owned
                and coalesce(reversed_event_kind, event_kind) in ('adjustment', 'count_variance')
                and not coalesce(is_not_shrink, false)
        ) as shrink_value_amount,
        count(*) filter (
            where coalesce(reversed_event_kind, event_kind) in ('adjustment', 'count_variance')
                and not coalesce(is_not_shrink, false)
        ) as adjustment_count,
        -sum(cost_delta_amount) filter (
            where is_owned and coalesce(reversed_event_kind, event_kind) = 'issue'
        ) as cost_of_goods_issued_amount,
    from card
    group by all

),

final as (

    select
        month_start_date,
        facility_id,
        variant_id,
        cast(adjustment_count as bigint) as adjustment_count,
        cast(coalesce(shrink_qty, 0) as decimal(18, 6)) as shrink_qty,
        cast(coalesce(shrink_value_amount, 0) as decimal(18, 6)) as shrink_value_amount,
        cast(coalesce(cost_of_goods_issued_amount, 0) as decimal(18, 6))
            as cost_of_goods_issued_amount,
        {{ exact_ratio('shrink_value_amount', 'cost_of_goods_issued_amount') }} as shrink_rate,
        currency_code,
    from monthly
    where adjustment_count > 0

)

select * from final
