with

source as (

    select * from {{ source('ledger', 'ledger_transfer_shipment') }}

),

renamed as (

    select
        shipment_id,
        transfer_id,
        shipment_no,
        status as shipment_status,
        shipped_by,
        shipped_role,
        shipped_at,
        posted_at,
        carrier,
        reference as carrier_reference,
        transfer_cost as transfer_cost_amount,
        currency as currency_code,
        settled_at,
        updated_at,

    from source

)

select * from renamed
