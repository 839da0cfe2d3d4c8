with

source as (

    select * from {{ source('ledger', 'facilities') }}

),

renamed as (

    select
        cast(facility as varchar) as facility_id,
        cast(name as varchar) as facility_name,
        cast(facility_type as varchar) as facility_type,
        cast(org as varchar) as org_id,
        cast(currency as varchar) as currency_code,
        cast(facility || '/' || default_bin as varchar) as default_bin_id,

    from source

)

select * from renamed
