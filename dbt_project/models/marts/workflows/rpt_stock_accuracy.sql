-- Stock record accuracy per facility and calendar month of the count (the final count's
-- recorded time), over counted positions (lines counted or recounted):
--   stock_accuracy_rate = positions whose final count was within the facility's count
--                         tolerance / counted positions;
--   exact_match_rate    = positions whose final count equalled the system quantity / counted
--                         positions.
with

count_lines as (

    select * from {{ ref('fct_count_lines') }}

),

final as (

    select
        cast(date_trunc('month', counted_at) as date) as month_start_date,
        facility_id,
        cast(count(*) as integer) as counted_position_count,
        cast(count(*) filter (where is_within_tolerance) as integer) as within_tolerance_count,
        cast(count(*) filter (where variance_qty = 0) as integer) as exact_match_count,
        {{ exact_ratio('count(*) filter (where is_within_tolerance)', 'count(*)') }}
            as stock_accuracy_rate,
        {{ exact_ratio('count(*) filter (where variance_qty = 0)', 'count(*)') }}
            as exact_match_rate,
        cast(sum(absolute_variance_qty) as decimal(18, 6)) as absolute_variance_qty,
    from count_lines
    where is_counted
    group by all

)

select * from final
