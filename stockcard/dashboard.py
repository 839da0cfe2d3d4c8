"""`stockcard dashboard`: the Streamlit dashboards (streamlit_app/) on the DuckDB warehouse.

Runs `streamlit run` headless with usage statistics off (the same settings are in
streamlit_app/.streamlit/config.toml for a bare `streamlit run`); the warehouse path reaches the
app through $STOCKCARD_WAREHOUSE_PATH, and the app opens it read-only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "streamlit_app" / "streamlit_app.py"
WAREHOUSE_ENV = "STOCKCARD_WAREHOUSE_PATH"
DEFAULT_PORT = 8501


def add_command(subparsers: argparse._SubParsersAction) -> None:
    dashboard = subparsers.add_parser(
        "dashboard", help="serve the KPI dashboards on the warehouse (read-only)"
    )
    dashboard.add_argument(
        "--warehouse", help=f"DuckDB warehouse (default ${WAREHOUSE_ENV} or data/warehouse.duckdb)"
    )
    dashboard.add_argument("--port", type=int, default=DEFAULT_PORT)
    dashboard.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: loopback only)"
    )


def command(args: argparse.Namespace) -> list[str]:
    """The `streamlit run` command line: headless, no usage statistics, no browser opened."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.address", args.host,
        "--server.port", str(args.port),
    ]  # fmt: skip


def environment(args: argparse.Namespace, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for the app: the warehouse path (made absolute, since the app may run from
    another directory) and Streamlit's statistics switched off once more by variable."""
    env = dict(os.environ if base is None else base)
    if args.warehouse:
        env[WAREHOUSE_ENV] = str(Path(args.warehouse).resolve())
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    return env


def run(args: argparse.Namespace) -> int:
    env = environment(args)
    warehouse = env.get(WAREHOUSE_ENV)
    if warehouse and not Path(warehouse).is_file():
        print(
            f"stockcard: no warehouse at {warehouse} yet; the dashboards will say what to run",
            file=sys.stderr,
        )
    try:
        return subprocess.call(command(args), env=env)
    except KeyboardInterrupt:
        # Ctrl-C reaches streamlit too, which stops on it; nothing more to report
        return 0
