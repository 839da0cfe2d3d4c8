with

parties as (

    select * from {{ ref('stg_ledger__parties') }}

),

final as (

    select
        party_id,
        party_kind,
        party_name,
        currency_code,
        party_kind = 'org' as is_organisation,
    from parties

)

select * from final
