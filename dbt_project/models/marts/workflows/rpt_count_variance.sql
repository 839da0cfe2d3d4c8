-- Count variances per facility, item category and calendar month of the count (the final
-- count's recorded time), over counted lines (counted or recounted):
--   net_variance_qty / absolute_variance_qty = Σ variance / Σ |variance| (counted − system);
--   variance values from the count_variance events of finalised sessions;
--   absolute_variance_rate = Σ |variance| / Σ |system quantity|.
with

count_lines as (

    select * from {{ ref('fct_count_lines') }}

),

final as (

    select
        cast(date_trunc('month', counted_at) as date) as month_start_date,
        facility_id,
        coalesce(category_name, 'uncategorised') as category_name,
        cast(count(*) as integer) as counted_line_count,
        cast(count(*) filter (where variance_qty <> 0) as integer) as variance_line_count,
        cast(count(*) filter (where is_recount_required) as integer) as recount_required_count,
        cast(count(*) filter (where not is_within_tolerance) as integer)
            as beyond_tolerance_count,
        cast(count(*) filter (where is_final) as integer) as finalised_line_count,
        cast(sum(system_qty) as decimal(18, 6)) as system_qty,
        cast(sum(counted_qty) as decimal(18, 6)) as counted_qty,
        cast(sum(variance_qty) as decimal(18, 6)) as net_variance_qty,
        cast(sum(absolute_variance_qty) as decimal(18, 6)) as absolute_variance_qty,
        cast(coalesce(sum(variance_value_amount), 0) as decimal(18, 6))
            as net_variance_value_amount,
        cast(coalesce(sum(abs(variance_value_amount)), 0) as decimal(18, 6))
            as absolute_variance_value_amount,
        max(currency_code) as currency_code,
        {{ exact_ratio('sum(absolute_variance_qty)', 'sum(abs(system_qty))') }}
            as absolute_variance_rate,
    from count_lines
    where is_counted
    group by all

)

select * from final
