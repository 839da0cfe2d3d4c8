-- Cycle times per facility, process, step and calendar month the step ended in
-- (fct_workflow_steps: receiving → QC → putaway, reserve → allocate → commit → consume
-- for pick/pack/ship, transfer submit → approve → ship → receive): how many, mean, median,
-- 90th percentile, shortest and longest, in hours. The mean is exact to a millionth of an
-- hour; the percentiles are nearest-rank (the smallest duration with at least that share of
-- the samples at or below it), so they are always one of the measured durations.
with

steps as (

    select * from {{ ref('fct_workflow_steps') }}

),

final as (

    select
        cast(date_trunc('month', ended_at) as date) as month_start_date,
        facility_id,
        process,
        step,
        step_order,
        cast(count(*) as integer) as sample_count,
        {{ from_e6(div_half_up('sum(duration_us)', 'count(*) * 3600')) }} as avg_hours,
        quantile_disc(duration_hours, 0.5) as p50_hours,
        quantile_disc(duration_hours, 0.9) as p90_hours,
        min(duration_hours) as min_hours,
        max(duration_hours) as max_hours,
    from steps
    group by all

)

select * from final
