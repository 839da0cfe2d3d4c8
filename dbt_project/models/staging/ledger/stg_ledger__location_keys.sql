with

source as (

    select * from {{ source('ledger', 'location_ids') }}

),

renamed as (

    select
        cast(location_id as bigint) as location_key,
        cast(facility || '/' || bin as varchar) as bin_id,
        cast(facility as varchar) as facility_id,
        cast(bin as varchar) as bin_code,

    from source

)

select * from renamed
