{{ config(tags=["reports"]) }}

-- Every position's stock as of a business time, from the stock card (macro stock_as_of):
-- var as_of_at (e.g. --vars '{as_of_at: "2026-09-30 23:59:59"}'), by default the end of the
-- last business date in the warehouse. Any date of the data's history can be asked; in DuckDB
-- directly, `select * from marts.stock_as_of(timestamp '…')` does the same.
with

card as (

    select * from {{ ref('fct_stock_card') }}

),

{% if var('as_of_at', none) is not none %}

as_of as (

    select cast('{{ var("as_of_at") }}' as timestamp) as as_of_at

),

{% else %}

as_of as (

    select cast(max(occurred_date) as timestamp) + interval 1 day - interval 1 microsecond
        as as_of_at
    from card

),

{% endif %}

positions as (

    {{ stock_as_of('(select as_of_at from as_of)', 'card') }}

),

final as (

    select
        (select as_of_at from as_of) as as_of_at,
        position_id,
        facility_id,
        bin_id,
        variant_id,
        lot_id,
        bucket,
        owner_id,
        is_owned,
        cast(on_hand_qty as decimal(18, 6)) as on_hand_qty,
        cast(value_amount as decimal(18, 6)) as value_amount,
        currency_code,
        last_movement_at,
    from positions

)

select * from final
