with

source as (

    select * from {{ source('ledger', 'variants') }}

),

renamed as (

    select
        sku as variant_id,
        item as item_id,
        barcode,
        uom as uom_code,
        name as variant_name,

    from source

)

select * from renamed
