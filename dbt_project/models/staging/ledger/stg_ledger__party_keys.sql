with

source as (

    select * from {{ source('ledger', 'party_ids') }}

),

renamed as (

    select
        cast(party_id as bigint) as party_key,
        cast(party_code as varchar) as party_id,

    from source

)

select * from renamed
