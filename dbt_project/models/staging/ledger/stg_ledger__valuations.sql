with

source as (

    select * from {{ source('ledger', 'ledger_valuations') }}

),

renamed as (

    select
        facility as facility_id,
        sku as variant_id,
        costing_method,
        currency as currency_code,
        qty as on_hand_qty,
        value as value_amount,

    from source

)

select * from renamed
