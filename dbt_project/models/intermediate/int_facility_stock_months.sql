{{ config(materialized='ephemeral') }}

-- The calendar months each facility + SKU is tracked in: from the first day it moved to the
-- last business date in the warehouse, clipped to the month (shared by the monthly KPI reports).
with

spans as (

    select * from {{ ref('int_facility_stock_spans') }}

),

data_end as (

    select max(valid_from_date) as end_date from spans

),

final as (

    select
        facility_id,
        variant_id,
        cast(month_start as date) as month_start_date,
        greatest(cast(month_start as date), first_date) as tracked_from_date,
        least(cast(last_day(month_start) as date), end_date) as tracked_to_date,
    from (
        select
            facility_id,
            variant_id,
            min(valid_from_date) as first_date,
        from spans
        group by all
    )
    -- single-row CTEs are joined, not subqueried, inside per-row expressions: DuckDB runs a
    -- scalar subquery in a lateral unnest far slower than a join
    cross join data_end,
        unnest(generate_series(
            date_trunc('month', first_date),
            date_trunc('month', end_date),
            interval 1 month
        )) as months(month_start)


)

select * from final
