{#- Positions as of a business time, from the stock card: each position's last running
    balance at or before `as_of_at` (a timestamp expression; a date means the start of that
    day, so pass `date + interval 1 day` for its close — the ledger's `balance --as-of` uses
    occurred_at <= as_of the same way). Positions at zero are left out.

    select * from ({{ stock_as_of("timestamp '2026-09-30 23:59:59.999999'") }}) -#}
{% macro stock_as_of(as_of_at, card_relation=none) -%}
    {%- set card = card_relation if card_relation is not none else ref('fct_stock_card') -%}
    select
        position_id,
        facility_id,
        bin_id,
        variant_id,
        lot_id,
        bucket,
        owner_id,
        is_owned,
        max_by(running_qty, position_sequence) as on_hand_qty,
        max_by(running_value_amount, position_sequence) as value_amount,
        max(currency_code) as currency_code,
        max(occurred_at) as last_movement_at,
    from {{ card }}
    where occurred_at <= {{ as_of_at }}
    group by position_id, facility_id, bin_id, variant_id, lot_id, bucket, owner_id, is_owned
    having max_by(running_qty, position_sequence) <> 0
        or max_by(running_value_amount, position_sequence) <> 0
{%- endmacro %}

{#- Run at the end of every dbt build: DuckDB table macros in the warehouse itself, so that an
    analyst in `duckdb data/warehouse.duckdb` can ask as-of questions without dbt:
        select * from marts.stock_as_of(timestamp '2026-09-30 23:59:59');
        select * from marts.valuation_as_of(date '2026-09-30');  -- closing of that day -#}
{% macro create_analyst_macros() %}
    {#- returns the statements; dbt runs an on-run-end hook's SQL and commits it -#}
    {%- set card = none -%}
    {%- if execute and flags.WHICH in ('build', 'run') -%}
        {%- set card = adapter.get_relation(
            database=target.database, schema='marts', identifier='fct_stock_card'
        ) -%}
    {%- endif -%}
    {%- if card is not none -%}
        create or replace macro marts.stock_as_of(as_of_at) as table
            {{ stock_as_of('as_of_at', card) }};
        create or replace macro marts.valuation_as_of(as_of_date) as table
            select
                facility_id,
                variant_id,
                sum(on_hand_qty) as on_hand_qty,
                sum(value_amount) as value_amount,
                max(currency_code) as currency_code,
            from marts.stock_as_of(
                cast(as_of_date as timestamp) + interval 1 day - interval 1 microsecond
            )
            where is_owned
            group by all
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}
