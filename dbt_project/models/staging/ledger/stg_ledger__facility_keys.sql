with

source as (

    select * from {{ source('ledger', 'facility_ids') }}

),

renamed as (

    select
        cast(facility_id as bigint) as facility_key,
        cast(facility as varchar) as facility_id,

    from source

)

select * from renamed
