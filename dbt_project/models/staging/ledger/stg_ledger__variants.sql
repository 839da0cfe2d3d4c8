with

source as (

    select * from {{ source('ledger', 'variants') }}

),

renamed as (

    select
        cast(sku as varchar) as variant_id,
        cast(item as varchar) as item_id,
        cast(barcode as varchar) as barcode,
        cast(uom as varchar) as uom_code,
        cast(name as varchar) as variant_name,

    from source

)

select * from renamed
