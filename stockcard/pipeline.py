"""`stockcard pipeline …`: run the Dagster job in-process, prepare the dbt manifest, or start
`dagster dev` on the code location."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from pipelines.settings import JOBS, REPO_ROOT, WHOLE_JOB, Locations, locations

if TYPE_CHECKING:
    from pipelines.runner import RunSummary


def add_command(subparsers: argparse._SubParsersAction) -> None:
    pipeline = subparsers.add_parser("pipeline", help="run or develop the Dagster pipeline")
    actions = pipeline.add_subparsers(dest="action", required=True)
    run = actions.add_parser(
        "run", help="run a job in-process: feeds in the inbox → ledger → warehouse → models"
    )
    add_location_arguments(run)
    run.add_argument(
        "--job",
        default=WHOLE_JOB,
        choices=JOBS,
    )
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="extract every event again and rebuild incremental marts from scratch",
    )
    run.add_argument("--json", action="store_true", help="print the run summary as JSON")
    actions.add_parser("prepare", help="prepare the dbt manifest (dbt parse) the assets load")
    dev = actions.add_parser("dev", help="prepare the manifest and start `dagster dev`")
    add_location_arguments(dev)
    dev.add_argument("--port", type=int, default=3000)


def add_location_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="data folder (default $STOCKCARD_DATA_DIR or data/)")
    parser.add_argument("--db", help="ledger URL (default: ledger.sqlite in the data folder)")
    parser.add_argument("--warehouse", help="DuckDB file (default: warehouse.duckdb there)")


def chosen_locations(args: argparse.Namespace) -> Locations:
    return locations(args.data_dir, ledger_url=args.db, warehouse=args.warehouse)


def run(args: argparse.Namespace) -> int:
    if args.action == "prepare":
        from pipelines.defs.dbt.project import prepare_manifest

        prepare_manifest()
        print("dbt manifest prepared")
        return 0
    if args.action == "dev":
        return dagster_dev(chosen_locations(args), args.port)
    from pipelines.runner import run_job

    places = chosen_locations(args)
    log = places.data_dir / "logs" / "pipeline.log"
    summary = run_job(places, job=args.job, full_refresh=args.full_refresh, log_file=log)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2, default=str))
    else:
        print_summary(summary)
        print(f"  the run's full log               {log}")
    return 0 if summary.success else 1


def print_summary(summary: RunSummary) -> None:
    data = summary.as_dict()
    status = "succeeded" if data["success"] else "FAILED"
    print(f"run {data['run_id']} ({data['job']}) {status}")
    lines = [
        ("feed files", data["files"]),
        ("rows rejected", data["rows_rejected"]),
        ("events posted", data["events_posted"]),
        ("rows already posted (replayed)", data["rows_replayed"]),
        ("ledger refusals", data["refusals"]),
        ("events extracted", data["events_extracted"]),
        ("marts built", data["models_built"]),
    ]
    for label, value in lines:
        print(f"  {label:<32}{value}")
    for rule, count in data["rejects_by_rule"].items():
        print(f"    rejected: {rule:<24}{count}")
    for code, count in data["refusals_by_code"].items():
        print(f"    refused:  {code:<24}{count}")
    if data["quality_passed"] is not None:
        verdict = "passed" if data["quality_passed"] else "FAILED"
        print(f"  quality (marts vs ledger)       {verdict}: {data['quality_report']}")
    for check in data["failed_checks"]:
        print(f"  check not passed: {check}")
    for step in data["failed_steps"]:
        print(f"  step failed: {step}")


def dagster_dev(places: Locations, port: int) -> int:
    from pipelines.defs.dbt.project import prepare_manifest

    prepare_manifest()
    environment = {
        **os.environ, **places.environment(), "DAGSTER_HOME": str(REPO_ROOT),
        "DAGSTER_DISABLE_TELEMETRY": "yes",
    }  # fmt: skip
    command = [
        sys.executable, "-m", "dagster", "dev", "-m", "pipelines.definitions", "-p", str(port),
    ]  # fmt: skip
    return subprocess.call(command, cwd=REPO_ROOT, env=environment)
