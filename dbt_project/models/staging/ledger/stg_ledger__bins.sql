with

source as (

    select * from {{ source('ledger', 'bins') }}

),

renamed as (

    select
        cast(facility || '/' || bin as varchar) as bin_id,
        cast(facility as varchar) as facility_id,
        cast(bin as varchar) as bin_code,
        cast(zone as varchar) as zone_code,
        cast(bin_kind as varchar) as bin_kind,

    from source

)

select * from renamed
