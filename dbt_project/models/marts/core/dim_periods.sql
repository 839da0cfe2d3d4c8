with

periods as (

    select * from {{ ref('stg_ledger__periods') }}

),

final as (

    select
        period_id,
        starts_at,
        ends_at,
        cast(starts_at as date) as starts_on_date,
        cast(ends_at as date) - 1 as ends_on_date,
        period_status,
        close_version,
        period_status <> 'open' as is_closed,
    from periods

)

select * from final
