"""Warehouse build benchmark (a report, not a test).

Generates synthetic ledger events straight into DuckDB, shaped exactly like
`raw.ledger_events` (receipts into a receiving bin, putaway bin moves, issues, adjustments and
cost adjustments over two years, many facilities x SKUs, a share of FIFO and lot-tracked SKUs),
then times a full `dbt run` with per-model times from dbt's run_results.json, an incremental
run after 100k more events, and the same stock card and FIFO layers computed with pandas and a
plain Python FIFO queue, for the ratio.

    uv run python bench/warehouse_build.py                 # 1M events
    uv run python bench/warehouse_build.py --events 10000000

Goals (issue notes): 10M full build within 60 s, an incremental 100k within 10 s wall.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.extract import (
    Table,
    create_raw,
    declared_types,
    extracted_workflow_tables,
    replace_workflow_table,
)
from pipelines.warehouse import PROJECT_DIR, BuildSummary, build

RESULTS = Path(__file__).resolve().parent / "results"
START = "2024-10-01"
DAYS = 730


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"warehouse_{args.events}.duckdb"
    for stale in (path, path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    print(f"Generating {args.events:,} events for {args.facilities} facilities x {args.skus} SKUs")
    started = time.perf_counter()
    with duckdb.connect(str(path)) as con:
        generate(con, args, first_event=1, count=args.events, day_offset=0)
        events, positions = con.execute(
            "select count(*), count(distinct position_id) from raw.ledger_events"
        ).fetchall()[0]
    print(f"  {events:,} events, {positions:,} positions in {time.perf_counter() - started:.1f} s")

    full = build(path, command="run", full_refresh=True, threads=args.threads)
    full_times = run_results()
    report("Full build (dbt run --full-refresh)", full, full_times)

    with duckdb.connect(str(path)) as con:
        generate(
            con, args, first_event=args.events + 1, count=args.incremental,
            day_offset=DAYS, backdated_share=0.01,
        )  # fmt: skip
    # The hourly path: every incremental model, the KPI reports left to the daily run.
    incremental = build(path, command="run", threads=args.threads, exclude="tag:reports")
    incremental_times = run_results()
    report(f"Incremental run after {args.incremental:,} new events (hourly, no reports)",
           incremental, incremental_times)  # fmt: skip
    reports = build(path, command="run", threads=args.threads, select="tag:reports")
    report("KPI reports rebuilt (daily)", reports, run_results())

    baseline = python_baseline(path) if not args.skip_baseline else None
    warehouse_seconds = sum(
        seconds for name, seconds in full_times.items() if name in ("fct_stock_card", *FIFO_MODELS)
    )
    summary = {
        "events": events,
        "positions": positions,
        "full_build_seconds": full.seconds,
        "full_build_models": full_times,
        "incremental_events": args.incremental,
        "incremental_seconds": incremental.seconds,
        "incremental_models": incremental_times,
        "reports_seconds": reports.seconds,
        "warehouse_card_and_fifo_seconds": round(warehouse_seconds, 3),
        "python_baseline": baseline,
    }
    if baseline:
        ratio = baseline["total_seconds"] / max(warehouse_seconds, 1e-9)
        summary["python_over_warehouse_ratio"] = round(ratio, 2)
        print(
            f"\nStock card + FIFO layers: warehouse {warehouse_seconds:.2f} s (model times), "
            f"pandas + Python FIFO {baseline['total_seconds']:.2f} s → ratio {ratio:.2f}"
        )
    out = RESULTS / f"warehouse_build_{args.events}.json"
    out.write_text(json.dumps(summary, indent=2))
    print(f"\nGoals: 10M full build ≤ 60 s, incremental 100k ≤ 10 s. Figures in {out}")
    if not args.keep:
        path.unlink(missing_ok=True)
    return 0 if full.success and incremental.success else 1


FIFO_MODELS = (
    "int_fifo_movements_sequenced",
    "int_fifo_revaluations_allocated",
    "int_fifo_layers_positioned",
    "fct_cost_layers",
    "fct_cost_layer_consumptions",
)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--incremental", type=int, default=100_000)
    parser.add_argument("--facilities", type=int, default=20)
    parser.add_argument("--skus", type=int, default=1_000)
    parser.add_argument("--fifo-share", type=float, default=0.3)
    parser.add_argument("--lot-share", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the generated warehouse")
    return parser.parse_args(argv)


def run_results() -> dict[str, float]:
    """Per-model seconds of the last invocation, from dbt's own run_results.json."""
    results = json.loads((PROJECT_DIR / "target" / "run_results.json").read_text())
    return {
        result["unique_id"].split(".")[-1]: round(result["execution_time"], 3)
        for result in results["results"]
        if result["unique_id"].startswith("model.")
    }


def report(title: str, summary: BuildSummary, times: dict[str, float]) -> None:
    print(f"\n{title}: {summary.seconds:.2f} s wall, success={summary.success}")
    for name, seconds in sorted(times.items(), key=lambda item: -item[1])[:12]:
        print(f"  {seconds:8.2f} s  {name}")
    if summary.error:
        print(f"  error: {summary.error}")
    failed = summary.failed()
    for node in failed:
        print(f"  FAILED {node.unique_id}: {node.message}")


def generate(
    con: duckdb.DuckDBPyConnection,
    args: argparse.Namespace,
    *,
    first_event: int,
    count: int,
    day_offset: int,
    backdated_share: float = 0.0,
) -> None:
    """Events `first_event`… in posting order; business time follows posting order over the
    two years (a few hours of jitter, and `backdated_share` of them some days late)."""
    create_raw(con)
    if first_event == 1:
        master_data(con, args)
    days = DAYS if day_offset == 0 else 5
    # Each row picks a facility + SKU and a kind; a putaway is two events (out of RECV, into
    # A1), so stock flows receipt (RECV) → bin move → issues (A1).
    con.execute(
        f"""
        insert into raw.ledger_events by name
        with numbered as (
            select
                {first_event} + i as event_id,
                i,
                hash(i * 7919 + {first_event}) as h,
            from range({count}) as t(i)
        ),
        picked as (
            select
                *,
                cast(h % {args.facilities} as integer) as facility_index,
                cast((h // 1000) % {args.skus} as integer) as sku_index,
                cast((h // 1000000) % 1000 as integer) as kind_draw,
                cast((h // 1000000000) % 10 as integer) + 1 as small_qty,
            from numbered
        ),
        kinded as (
            select
                *,
                case
                    when kind_draw < 70 then 'receipt'
                    when kind_draw < 140 then 'bin_move'
                    when kind_draw < 980 then 'issue'
                    when kind_draw < 995 then 'adjustment'
                    else 'cost_adjustment'
                end as kind,
                -- bin moves come in pairs: even rows leave RECV, the next row lands in A1
                (event_id % 2 = 0) as is_move_out,
            from picked
        ),
        shaped as (
            select
                event_id,
                'key-' || event_id as idempotency_key,
                'RET' as org,
                'F' || lpad(cast(facility_index as varchar), 3, '0') as facility,
                case
                    when kind = 'receipt' then 'RECV'
                    when kind = 'bin_move' and is_move_out then 'RECV'
                    else 'A1'
                end as bin,
                'SKU' || lpad(cast(sku_index as varchar), 5, '0') as sku,
                case when sku_index < {args.skus} * {args.lot_share}
                    then 'L' || strftime(
                        date '{START}' + {day_offset} + cast(i * {days} // {count} as integer),
                        '%Y%m'
                    )
                end as lot,
                'available' as bucket,
                'RET' as owner,
                cast(facility_index as bigint) * 10000000 + sku_index * 10
                    + case
                        when kind = 'receipt' or (kind = 'bin_move' and is_move_out) then 1
                        else 2
                    end as position_id,
                kind,
                cast(case
                    when kind = 'receipt' then 40 + small_qty * 4
                    when kind = 'bin_move' and is_move_out then -(40 + small_qty * 4)
                    when kind = 'bin_move' then 40 + small_qty * 4
                    when kind = 'issue' then -small_qty
                    when kind = 'adjustment' then case when small_qty > 7 then 1 else -1 end
                    else 0
                end as decimal(18, 6)) as qty,
                cast(1 + (sku_index % 50) + (h % 100) / 100.0 as decimal(18, 6)) as unit_cost,
                i,
            from kinded
        )
        select
            event_id, idempotency_key, org, facility, bin, sku, lot, bucket, owner, position_id,
            kind,
            qty,
            qty as qty_after,
            case when kind <> 'cost_adjustment' then unit_cost end as unit_cost,
            cast(case when kind = 'cost_adjustment' then 1.25
                else round(qty * unit_cost, 2) end as decimal(18, 6)) as cost_delta,
            unit_cost as avg_cost_after,
            'EUR' as currency,
            case when kind = 'adjustment' then 'shrink'
                when kind = 'cost_adjustment' then 'revaluation' end as reason_code,
            'bench' as actor,
            'inventory_controller' as role,
            null as comment,
            case when kind = 'issue' then 'pos' end as channel,
            null as cost_centre,
            'bench' as source_document_type,
            'B-' || event_id as source_document_id,
            null as source_line,
            cast(timestamp '{START}' + interval ({day_offset}) day
                + to_microseconds(cast(i * ({days} * 86400000000 // {count}) as bigint))
                - case when (event_id * 31) % 1000 < {backdated_share * 1000}
                    then interval 3 day else interval 0 day end
                as timestamp) as occurred_at,
            cast(timestamp '{START}' + interval ({day_offset}) day
                + to_microseconds(cast(i * ({days} * 86400000000 // {count}) as bigint))
                as timestamp) as posted_at,
            null as reverses_event_id,
            strftime(timestamp '{START}' + interval ({day_offset}) day
                + to_microseconds(cast(i * ({days} * 86400000000 // {count}) as bigint)), '%Y-%m')
                as period,
        from shaped
        """
    )
    refresh_state(con, args)


def master_data(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> None:
    fifo_skus = int(args.skus * args.fifo_share)
    lot_skus = int(args.skus * args.lot_share)
    con.execute(
        f"""
        create or replace table raw.parties as
            select 'RET' as party_code, 'org' as party_kind, 'Retail Co' as name,
                'EUR' as currency;
        create or replace table raw.facilities as
            select 'F' || lpad(cast(i as varchar), 3, '0') as facility, 'Facility ' || i as name,
                case when i = 0 then 'warehouse' else 'store' end as facility_type,
                'RET' as org, 'EUR' as currency, 'A1' as default_bin
            from range({args.facilities}) as t(i);
        create or replace table raw.bins as
            select facility, bin, null as zone, kind as bin_kind
            from raw.facilities, (values ('A1', 'storage'), ('RECV', 'receiving')) as b(bin, kind);
        create or replace table raw.items as
            select 'ITEM' || lpad(cast(i as varchar), 5, '0') as item, 'Item ' || i as name,
                'category ' || (i % 12) as category,
                -- lot-tracked SKUs are the lowest numbers, FIFO the highest
                case when i >= {args.skus - fifo_skus} then 'fifo' else 'moving_average' end
                    as costing_method,
                i < {lot_skus} as is_lot_tracked, false as is_serial_tracked,
                case when i < {lot_skus} then 90 end as shelf_life_days
            from range({args.skus}) as t(i);
        create or replace table raw.variants as
            select 'SKU' || lpad(cast(i as varchar), 5, '0') as sku,
                'ITEM' || lpad(cast(i as varchar), 5, '0') as item,
                null as barcode, 'each' as uom, null as name
            from range({args.skus}) as t(i);
        create or replace table raw.reason_codes as
            select * from (values
                ('shrink', 'Shrinkage', 'adjustment', true),
                ('revaluation', 'Revaluation', 'cost_adjustment', true)
            ) as t(reason_code, description, kinds, is_active);
        create or replace table raw.periods as
            select strftime(m, '%Y-%m') as period, cast(m as timestamp) as starts_at,
                cast(m + interval 1 month as timestamp) as ends_at, 'open' as status,
                0 as close_version
            from unnest(generate_series(timestamp '{START}',
                timestamp '{START}' + interval 26 month, interval 1 month)) as t(m);
        create or replace table raw.facility_ids as
            select row_number() over (order by facility) as facility_id, facility
            from raw.facilities;
        create or replace table raw.variant_ids as
            select row_number() over (order by sku) as variant_id, sku from raw.variants;
        create or replace table raw.location_ids as
            select row_number() over (order by facility, bin) as location_id, facility, bin
            from raw.bins;
        create or replace table raw.party_ids as
            select row_number() over (order by party_code) as party_id, party_code
            from raw.parties;
        """
    )
    # The workflows (transfers, reservations, receipts, counts) are not generated: their
    # tables are there, empty and typed, as an extract of a ledger without them leaves them.
    for name in extracted_workflow_tables():
        replace_workflow_table(con, name, Table(tuple(declared_types(name)), []))


def refresh_state(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> None:
    """Lots, ledger state and the extract mark, as the extract would leave them. The balances
    are the events' sums (the generated costs follow no cost rule, so they are not a ledger's)."""
    con.execute(
        """
        create or replace table raw.lots as
            select distinct e.sku, e.lot,
                cast(strptime(e.lot, 'L%Y%m') + interval 90 day as date) as expires_on
            from raw.ledger_events e where e.lot is not null;
        create or replace table raw.lot_ids as
            select row_number() over (order by sku, lot) as lot_id, sku, lot from raw.lots;
        create or replace table raw.ledger_balances as
            select position_id, any_value(facility) as facility, any_value(bin) as bin,
                any_value(sku) as sku, any_value(lot) as lot, any_value(bucket) as bucket,
                any_value(owner) as owner, cast(sum(qty) as decimal(18, 6)) as qty,
                cast(sum(cost_delta) as decimal(18, 6)) as value
            from raw.ledger_events group by position_id;
        create or replace table raw.ledger_valuations as
            select facility, sku, 'moving_average' as costing_method, 'EUR' as currency,
                cast(sum(qty) as decimal(18, 6)) as qty,
                cast(sum(cost_delta) as decimal(18, 6)) as value
            from raw.ledger_events group by facility, sku;
        create or replace table raw.ledger_cost_layers (
            layer_id bigint, facility varchar, sku varchar, opened_event_id bigint,
            opened_at timestamp, unit_cost decimal(18, 6), opened_qty decimal(18, 6),
            remaining_qty decimal(18, 6), remaining_value decimal(18, 6), currency varchar
        );
        insert or replace into raw.extract_state
            select 'ledger', max(event_id), false, count(*), now()::timestamp
            from raw.ledger_events;
        """
    )


def python_baseline(path: Path) -> dict[str, Any]:
    """The stock card with pandas (sort + grouped cumulative sums) and the FIFO layers with a
    deque per facility + SKU, on integers of millionths, over the same events."""
    with duckdb.connect(str(path)) as con:
        started = time.perf_counter()
        frame = con.sql(
            """
            select e.event_id, e.position_id, e.facility, e.sku, e.kind, e.occurred_at,
                cast(e.qty * 1000000 as bigint) as qty_e6,
                cast(e.cost_delta * 1000000 as bigint) as value_e6,
                cast(coalesce(e.unit_cost, 0) * 1000000 as bigint) as unit_cost_e6,
                i.costing_method
            from raw.ledger_events e
            join raw.variants v on v.sku = e.sku
            join raw.items i on i.item = v.item
            """
        ).df()
    loaded = time.perf_counter()
    card = frame.sort_values(["occurred_at", "event_id"], kind="stable")
    card["running_qty_e6"] = card.groupby("position_id")["qty_e6"].cumsum()
    card["running_value_e6"] = card.groupby("position_id")["value_e6"].cumsum()
    card["facility_running_qty_e6"] = card.groupby(["facility", "sku"])["qty_e6"].cumsum()
    card["facility_running_value_e6"] = card.groupby(["facility", "sku"])["value_e6"].cumsum()
    carded = time.perf_counter()
    fifo = frame[
        (frame["costing_method"] == "fifo") & ~frame["kind"].isin(["bin_move", "cost_adjustment"])
    ].sort_values("event_id")
    layers_left = fifo_queue(fifo)
    done = time.perf_counter()
    result = {
        "load_seconds": round(loaded - started, 3),
        "stock_card_seconds": round(carded - loaded, 3),
        "fifo_seconds": round(done - carded, 3),
        "total_seconds": round(done - loaded, 3),
        "open_layers": layers_left,
        "rows": len(frame),
    }
    print(
        f"\npandas stock card {result['stock_card_seconds']:.2f} s, Python FIFO queue "
        f"{result['fifo_seconds']:.2f} s (load from DuckDB {result['load_seconds']:.2f} s)"
    )
    return result


def fifo_queue(frame: Any) -> int:
    """Plain FIFO: receipts append a layer, issues pop from the left; beyond stock, a hole."""
    queues: dict[tuple[str, str], deque[list[int]]] = {}
    columns = zip(
        frame["facility"].to_numpy(), frame["sku"].to_numpy(),
        frame["qty_e6"].to_numpy(), frame["unit_cost_e6"].to_numpy(), strict=True,
    )  # fmt: skip
    for facility, sku, qty, cost in columns:
        queue = queues.setdefault((facility, sku), deque())
        if qty > 0:
            queue.append([int(qty), int(cost)])
            continue
        left = -int(qty)
        while left and queue and queue[0][0] > 0:
            taken = min(left, queue[0][0])
            queue[0][0] -= taken
            left -= taken
            if queue[0][0] == 0:
                queue.popleft()
        if left:
            queue.append([-left, int(cost)])
    return sum(len(queue) for queue in queues.values())


if __name__ == "__main__":
    sys.exit(main())
