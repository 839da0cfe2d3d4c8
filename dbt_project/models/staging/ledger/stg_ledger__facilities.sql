with

source as (

    select * from {{ source('ledger', 'facilities') }}

),

renamed as (

    select
        facility as facility_id,
        name as facility_name,
        facility_type,
        org as org_id,
        currency as currency_code,
        facility || '/' || default_bin as default_bin_id,

    from source

)

select * from renamed
