with

source as (

    select * from {{ source('ledger', 'ledger_cost_layers') }}

),

renamed as (

    select
        layer_id,
        facility as facility_id,
        sku as variant_id,
        opened_event_id,
        opened_at,
        unit_cost as unit_cost_amount,
        opened_qty,
        remaining_qty,
        remaining_value as remaining_value_amount,
        currency as currency_code,

    from source

)

select * from renamed
