with

items as (

    select * from {{ ref('stg_ledger__items') }}

),

final as (

    select
        item_id,
        item_name,
        category_name,
        costing_method,
        is_lot_tracked,
        is_serial_tracked,
        shelf_life_days,
    from items

)

select * from final
