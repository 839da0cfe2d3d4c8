with

source as (

    select * from {{ source('ledger', 'parties') }}

),

renamed as (

    select
        party_code as party_id,
        party_kind,
        name as party_name,
        currency as currency_code,

    from source

)

select * from renamed
