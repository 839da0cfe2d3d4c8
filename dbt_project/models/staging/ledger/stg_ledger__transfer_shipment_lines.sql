with

source as (

    select * from {{ source('ledger', 'ledger_transfer_shipment_line') }}

),

renamed as (

    select
        shipment_id,
        line_no,
        transfer_line_no,
        variant_id as variant_key,
        lot_id as lot_key,
        owner_id as owner_key,
        from_location_id as from_location_key,
        shipped_qty,
        goods_value as goods_value_amount,
        transfer_cost as transfer_cost_amount,
        received_qty,
        damaged_qty,
        lost_qty,
        misrouted_qty,
        short_qty,
        cleared_value as cleared_value_amount,

    from source

)

select * from renamed
