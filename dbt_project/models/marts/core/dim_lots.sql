with

lots as (

    select * from {{ ref('stg_ledger__lots') }}

),

variants as (

    select * from {{ ref('stg_ledger__variants') }}

),

final as (

    select
        lots.lot_id,
        lots.variant_id,
        variants.item_id,
        lots.lot_number,
        lots.expires_on_date,
    from lots
    left join variants on variants.variant_id = lots.variant_id

)

select * from final
