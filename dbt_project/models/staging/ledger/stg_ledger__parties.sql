with

source as (

    select * from {{ source('ledger', 'parties') }}

),

renamed as (

    select
        cast(party_code as varchar) as party_id,
        cast(party_kind as varchar) as party_kind,
        cast(name as varchar) as party_name,
        cast(currency as varchar) as currency_code,

    from source

)

select * from renamed
