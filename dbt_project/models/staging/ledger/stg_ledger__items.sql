with

source as (

    select * from {{ source('ledger', 'items') }}

),

renamed as (

    select
        item as item_id,
        name as item_name,
        category as category_name,
        costing_method,
        is_lot_tracked,
        is_serial_tracked,
        shelf_life_days,

    from source

)

select * from renamed
