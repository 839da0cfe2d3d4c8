with

reason_codes as (

    select * from {{ ref('stg_ledger__reason_codes') }}

),

final as (

    select
        reason_code,
        reason_description,
        array_to_string(allowed_event_kinds, ',') as allowed_event_kinds,
        is_active,
        -- the ledger writes these itself (negative stock settlement, zero stock revaluation)
        reason_code in ('negative_stock_settlement', 'zero_stock_revaluation') as is_system,
    from reason_codes

)

select * from final
