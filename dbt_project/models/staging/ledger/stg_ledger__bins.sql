with

source as (

    select * from {{ source('ledger', 'bins') }}

),

renamed as (

    select
        facility || '/' || bin as bin_id,
        facility as facility_id,
        bin as bin_code,
        zone as zone_code,
        bin_kind,

    from source

)

select * from renamed
