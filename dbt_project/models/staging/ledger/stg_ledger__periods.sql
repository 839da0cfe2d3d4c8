with

source as (

    select * from {{ source('ledger', 'periods') }}

),

renamed as (

    select
        period as period_id,
        starts_at,
        ends_at,
        status as period_status,
        close_version,

    from source

)

select * from renamed
