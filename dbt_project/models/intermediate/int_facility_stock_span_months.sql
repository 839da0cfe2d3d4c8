{{ config(materialized='ephemeral') }}

-- Each stock span once for every calendar month it reaches into (a span rarely spans many), so
-- monthly reports can weigh a span by the days it holds inside a month.
with

spans as (

    select * from {{ ref('int_facility_stock_spans') }}

),

data_end as (

    select max(valid_from_date) as end_date from spans

),

final as (

    select
        spans.*,
        cast(month_start as date) as month_start_date,
    from spans
    cross join data_end,
        unnest(generate_series(
            date_trunc('month', spans.valid_from_date),
            date_trunc('month', coalesce(spans.valid_to_date, data_end.end_date)),
            interval 1 month
        )) as span_months(month_start)


)

select * from final
