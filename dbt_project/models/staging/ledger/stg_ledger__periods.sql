with

source as (

    select * from {{ source('ledger', 'periods') }}

),

renamed as (

    select
        cast(period as varchar) as period_id,
        cast(starts_at as timestamp) as starts_at,
        cast(ends_at as timestamp) as ends_at,
        cast(status as varchar) as period_status,
        cast(close_version as integer) as close_version,

    from source

)

select * from renamed
