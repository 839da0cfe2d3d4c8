with

bins as (

    select * from {{ ref('stg_ledger__bins') }}

),

facilities as (

    select * from {{ ref('stg_ledger__facilities') }}

),

final as (

    select
        bins.bin_id,
        bins.facility_id,
        bins.bin_code,
        bins.zone_code,
        bins.bin_kind,
        bins.bin_id = facilities.default_bin_id as is_default_bin,
        bins.bin_kind = 'receiving' as is_receiving_bin,
        bins.bin_kind = 'quarantine' as is_quarantine_bin,
    from bins
    left join facilities on facilities.facility_id = bins.facility_id

)

select * from final
