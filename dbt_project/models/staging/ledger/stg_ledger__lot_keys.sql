with

source as (

    select * from {{ source('ledger', 'lot_ids') }}

),

renamed as (

    select
        cast(lot_id as bigint) as lot_key,
        cast(sku || '/' || lot as varchar) as lot_id,
        cast(lot as varchar) as lot_number,

    from source

)

select * from renamed
