-- Inventory turnover per facility + SKU and calendar month, at cost:
--   cost of goods issued = value of owned stock issued (issues net of their reversals);
--   average inventory    = mean of the daily closing owned value over the month's tracked
--                          days (from the first day the facility + SKU moved to the last
--                          business date in the warehouse), from the stock spans;
--   turnover             = cost of goods issued / average inventory (per month, not annualised);
--   days of supply       = tracked days × average inventory / cost of goods issued.
-- Ratios are exact decimals (six places), null when their denominator is zero.
with

months as (

    select * from {{ ref('int_facility_stock_months') }}

),

-- each span's value counts for the days it holds inside the month
span_month_keys as (

    select * from {{ ref('int_facility_stock_span_months') }}

),

span_months as (

    select
        months.facility_id,
        months.variant_id,
        months.month_start_date,
        sum(
            spans.owned_value_amount * (datediff(
                'day',
                greatest(spans.valid_from_date, months.tracked_from_date),
                least(coalesce(spans.valid_to_date, months.tracked_to_date), months.tracked_to_date)
            ) + 1)
        ) as owned_value_day_sum_amount,
        sum(spans.issued_qty) filter (
            where spans.valid_from_date between months.tracked_from_date and months.tracked_to_date
        ) as issued_qty,
        sum(spans.issued_value_amount) filter (
            where spans.valid_from_date between months.tracked_from_date and months.tracked_to_date
        ) as cost_of_goods_issued_amount,
        max_by(spans.owned_value_amount, spans.valid_from_date) as closing_owned_value_amount,
        max(spans.currency_code) as currency_code,
    from months
    inner join span_month_keys as spans
        on spans.facility_id = months.facility_id
        and spans.variant_id = months.variant_id
        and spans.month_start_date = months.month_start_date
    group by all

),

final as (

    select
        months.month_start_date,
        months.facility_id,
        months.variant_id,
        cast(datediff('day', months.tracked_from_date, months.tracked_to_date) + 1 as integer)
            as tracked_days,
        cast(coalesce(span_months.issued_qty, 0) as decimal(18, 6)) as issued_qty,
        cast(coalesce(span_months.cost_of_goods_issued_amount, 0) as decimal(18, 6))
            as cost_of_goods_issued_amount,
        {{ exact_ratio(
            'coalesce(span_months.owned_value_day_sum_amount, 0)',
            'datediff(\'day\', months.tracked_from_date, months.tracked_to_date) + 1',
        ) }} as average_inventory_value_amount,
        cast(coalesce(span_months.closing_owned_value_amount, 0) as decimal(18, 6))
            as closing_inventory_value_amount,
        {{ exact_ratio(
            'span_months.cost_of_goods_issued_amount'
            ~ ' * (datediff(\'day\', months.tracked_from_date, months.tracked_to_date) + 1)',
            'span_months.owned_value_day_sum_amount',
        ) }} as turnover_ratio,
        {{ exact_ratio(
            'span_months.owned_value_day_sum_amount',
            'span_months.cost_of_goods_issued_amount',
        ) }} as days_of_supply,
        span_months.currency_code,
    from months
    left join span_months
        on span_months.facility_id = months.facility_id
        and span_months.variant_id = months.variant_id
        and span_months.month_start_date = months.month_start_date

)

select * from final
