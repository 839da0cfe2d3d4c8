with

variants as (

    select * from {{ ref('stg_ledger__variants') }}

),

items as (

    select * from {{ ref('stg_ledger__items') }}

),

final as (

    select
        variants.variant_id,
        variants.item_id,
        variants.barcode,
        variants.uom_code,
        coalesce(variants.variant_name, items.item_name) as variant_name,
        items.category_name,
        items.costing_method,
        items.is_lot_tracked,
    from variants
    left join items on items.item_id = variants.item_id

)

select * from final
