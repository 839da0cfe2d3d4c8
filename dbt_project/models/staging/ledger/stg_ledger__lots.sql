with

source as (

    select * from {{ source('ledger', 'lots') }}

),

renamed as (

    select
        sku || '/' || lot as lot_id,
        sku as variant_id,
        lot as lot_number,
        expires_on as expires_on_date,

    from source

)

select * from renamed
