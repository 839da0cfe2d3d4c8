-- Stockouts per facility + SKU and calendar month, on the available bucket (all owners):
--   stockout_count    = times available stock went from above zero to zero or below, in the
--                       stock card's business-time order;
--   stockout_days     = tracked days that closed with nothing available;
--   stockout_day_rate = stockout_days / tracked_days.
-- Tracked days run from the first day the facility + SKU moved to the last business date.
with

card as (

    select * from {{ ref('fct_stock_card') }}

),

stockout_events as (

    select
        facility_id,
        variant_id,
        cast(date_trunc('month', occurred_date) as date) as month_start_date,
        count(*) as stockout_count,
    from card
    where bucket = 'available'
        and facility_available_running_qty <= 0
        and facility_available_running_qty - movement_qty > 0
    group by all

),

months as (

    select * from {{ ref('int_facility_stock_months') }}

),

-- each span once for every calendar month it reaches into (a span rarely spans many)
span_month_keys as (

    select * from {{ ref('int_facility_stock_span_months') }}

),

stockout_days as (

    select
        months.facility_id,
        months.variant_id,
        months.month_start_date,
        coalesce(sum(datediff(
            'day',
            greatest(spans.valid_from_date, months.tracked_from_date),
            least(coalesce(spans.valid_to_date, months.tracked_to_date), months.tracked_to_date)
        ) + 1) filter (where spans.available_qty <= 0), 0) as stockout_days,
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
        cast(coalesce(stockout_days.stockout_days, 0) as integer) as stockout_days,
        cast(coalesce(stockout_events.stockout_count, 0) as bigint) as stockout_count,
        {{ exact_ratio(
            'coalesce(stockout_days.stockout_days, 0)',
            'datediff(\'day\', months.tracked_from_date, months.tracked_to_date) + 1',
        ) }} as stockout_day_rate,
    from months
    left join stockout_days
        on stockout_days.facility_id = months.facility_id
        and stockout_days.variant_id = months.variant_id
        and stockout_days.month_start_date = months.month_start_date
    left join stockout_events
        on stockout_events.facility_id = months.facility_id
        and stockout_events.variant_id = months.variant_id
        and stockout_events.month_start_date = months.month_start_date

)

select * from final
