"""`stockcard demo`: simulate a retailer's source systems, run the whole pipeline in-process on
the embedded defaults (SQLite ledger, DuckDB warehouse under data/) and say what happened and
where to look next."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.settings import Locations, data_folder, locations

if TYPE_CHECKING:
    from pipelines.runner import RunSummary
    from simulator.run import SimulationSummary

MARKER = ".stockcard-demo"
SCALES = ("tiny", "small", "medium", "large")


def add_command(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo", help="simulate source feeds and run the whole pipeline on the embedded defaults"
    )
    demo.add_argument("--scale", choices=SCALES, default="small",
                      help="tiny ≈ thousands of movements, small (default) ≈ tens of thousands, "
                      "medium ≈ a million, large ≈ ten million")  # fmt: skip
    demo.add_argument("--seed", type=int, default=42, help="the same seed gives the same data")
    demo.add_argument("--data-dir", help="where the demo lives (default data/)")


def run(args: argparse.Namespace) -> int:
    # Always a SQLite ledger and a warehouse inside the demo's own folder: a ledger or warehouse
    # named by the environment (a real one, perhaps) is never the demo's.
    places = locations(args.data_dir or data_folder())
    refusal = make_room(places)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    started = time.perf_counter()
    from simulator import simulate

    print(f"simulating the source systems (scale {args.scale}, seed {args.seed}) …", flush=True)
    simulated = simulate(places.inbox, scale=args.scale, seed=args.seed)
    (places.data_dir / MARKER).write_text(
        json.dumps({"scale": args.scale, "seed": args.seed}) + "\n"
    )
    print("running the pipeline: ingest → post → extract → dbt → models → quality …", flush=True)
    from pipelines.runner import printed_to, run_job
    from pipelines.warehouse import docs_generate

    log = places.data_dir / "logs" / "pipeline.log"
    summary = run_job(places, log_file=log)
    closed = close_months(places, simulated, log)
    with printed_to(log):
        docs = docs_generate(places.warehouse).success
    print_report(places, simulated, summary, closed, docs, time.perf_counter() - started)
    return 0 if summary.success else 1


def make_room(places: Locations) -> str | None:
    """A fresh demo each time: an earlier demo's ledger, warehouse and feeds go; a ledger that
    is not a demo's is never touched."""
    ledger_file = places.data_dir / "ledger.sqlite"
    marker = places.data_dir / MARKER
    if ledger_file.exists() and not marker.exists():
        return (
            f"stockcard demo: {ledger_file} exists and was not made by the demo; "
            "run the demo elsewhere with --data-dir, or move that ledger away"
        )
    for name in ("ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "warehouse.duckdb",
                 "warehouse.duckdb.wal", MARKER):  # fmt: skip
        (places.data_dir / name).unlink(missing_ok=True)
    for folder in (places.inbox, places.archive, places.quality_dir):
        shutil.rmtree(folder, ignore_errors=True)
    places.data_dir.mkdir(parents=True, exist_ok=True)
    return None


def close_months(places: Locations, simulated: SimulationSummary, log: Path) -> list[str]:
    """The monthly close job for every finished month of the simulated calendar."""
    from pipelines.runner import run_job

    config = {"ops": {"close_finished_periods": {"config": {"today": simulated.last_day}}}}
    result = run_job(places, job="period_close_job", run_config=config, log_file=log)
    return [] if not result.success else closed_periods(places)


def closed_periods(places: Locations) -> list[str]:
    from ledger.api import Ledger

    with Ledger.open(places.ledger_url) as ledger:
        return [p["period"] for p in ledger.periods() if p["status"] != "open"]


def print_report(
    places: Locations, simulated: SimulationSummary, summary: RunSummary, closed: list[str],
    docs: bool, seconds: float,
) -> None:  # fmt: skip
    from stockcard.pipeline import print_summary

    bad = simulated.bad_rows_by_kind
    print()
    print(f"simulated {sum(simulated.rows.values())} feed rows in "
          f"{sum(simulated.files.values())} files, {simulated.first_day} … {simulated.last_day}, "
          f"with {sum(bad.values())} bad rows on purpose "
          f"({', '.join(f'{kind} {count}' for kind, count in bad.items())})")  # fmt: skip
    print_summary(summary)
    if closed:
        print(f"  periods closed                  {', '.join(closed)}")
    print(f"\nfinished in {seconds:.0f} s (the run's full log: {places.data_dir / 'logs'})."
          " Where to look next:")  # fmt: skip
    print(f"  dashboards      uv run stockcard dashboard --warehouse {places.warehouse}")
    print(f"  SQL             uv run stockcard sql --warehouse {places.warehouse} "
          "\"select * from marts.rpt_inventory_turnover limit 10\"")  # fmt: skip
    print("  Dagster UI      uv run stockcard pipeline dev   (http://127.0.0.1:3000)")
    if docs:
        print("  dbt docs        uv run dbt docs serve --project-dir dbt_project "
              "--profiles-dir dbt_project --port 8080")  # fmt: skip
    print(f"  ledger          STOCKCARD_LEDGER_URL={places.ledger_url} uv run stockcard ledger "
          "balance --sku <SKU>")  # fmt: skip
    if summary.quality_report:
        print(f"  quality report  {Path(summary.quality_report)}")
