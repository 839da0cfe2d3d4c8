with

source as (

    select * from {{ source('ledger', 'items') }}

),

renamed as (

    select
        cast(item as varchar) as item_id,
        cast(name as varchar) as item_name,
        cast(category as varchar) as category_name,
        cast(costing_method as varchar) as costing_method,
        cast(is_lot_tracked as boolean) as is_lot_tracked,
        cast(is_serial_tracked as boolean) as is_serial_tracked,
        cast(shelf_life_days as integer) as shelf_life_days,

    from source

)

select * from renamed
