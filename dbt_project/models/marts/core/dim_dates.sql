-- A calendar generated around the data: from a margin before the first business date to a
-- margin after the last, and never less than min_date_span_months (24), so that every as-of
-- question over two years has its dates. Without events it is anchored on today.
with

events as (

    select * from {{ ref('stg_ledger__events') }}

),

bounds as (

    select
        coalesce(cast(min(occurred_at) as date), current_date)
            - {{ var('date_margin_days') }} as first_date,
        coalesce(cast(max(occurred_at) as date), current_date)
            + {{ var('date_margin_days') }} as last_date,
    from events

),

span as (

    select
        date_trunc('month', first_date) as first_date,
        greatest(
            last_date,
            cast(date_trunc('month', first_date)
                + interval {{ var('min_date_span_months') }} month as date) - 1
        ) as last_date,
    from bounds

),

days as (

    select cast(unnest(generate_series(first_date, last_date, interval 1 day)) as date)
        as calendar_date
    from span

),

final as (

    select
        calendar_date,
        cast(year(calendar_date) as integer) as year_number,
        cast(quarter(calendar_date) as integer) as quarter_number,
        cast(month(calendar_date) as integer) as month_number,
        cast(day(calendar_date) as integer) as day_of_month_number,
        cast(isodow(calendar_date) as integer) as iso_day_of_week_number,
        dayname(calendar_date) as day_name,
        monthname(calendar_date) as month_name,
        cast(weekofyear(calendar_date) as integer) as iso_week_number,
        cast(date_trunc('week', calendar_date) as date) as week_start_date,
        cast(date_trunc('month', calendar_date) as date) as month_start_date,
        cast(last_day(calendar_date) as date) as month_end_date,
        strftime(calendar_date, '%Y-%m') as month_period_id,
        isodow(calendar_date) in (6, 7) as is_weekend,
    from days

)

select * from final
