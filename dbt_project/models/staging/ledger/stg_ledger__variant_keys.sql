with

source as (

    select * from {{ source('ledger', 'variant_ids') }}

),

renamed as (

    select
        cast(variant_id as bigint) as variant_key,
        cast(sku as varchar) as variant_id,

    from source

)

select * from renamed
