with

source as (

    select * from {{ source('ledger', 'lots') }}

),

renamed as (

    select
        cast(sku || '/' || lot as varchar) as lot_id,
        cast(sku as varchar) as variant_id,
        cast(lot as varchar) as lot_number,
        cast(expires_on as date) as expires_on_date,

    from source

)

select * from renamed
