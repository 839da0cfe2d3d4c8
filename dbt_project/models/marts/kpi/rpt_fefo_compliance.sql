-- FEFO compliance per facility + SKU and calendar month: the share of lot issues that took
-- the earliest-expiring lot in stock (see fct_lot_issues):
--   fefo_compliance_rate = compliant issues / lot issues;
--   non_compliant_qty    = quantity issued from a later-expiring lot.
with

lot_issues as (

    select * from {{ ref('fct_lot_issues') }}

),

final as (

    select
        cast(date_trunc('month', occurred_date) as date) as month_start_date,
        facility_id,
        variant_id,
        cast(count(*) as bigint) as lot_issue_count,
        cast(count(*) filter (where is_fefo_compliant) as bigint) as compliant_issue_count,
        cast(coalesce(sum(issued_qty) filter (where not is_fefo_compliant), 0) as decimal(18, 6))
            as non_compliant_qty,
        {{ exact_ratio('count(*) filter (where is_fefo_compliant)', 'count(*)') }}
            as fefo_compliance_rate,
    from lot_issues
    group by all

)

select * from final
