"""`stockcard serve`: the ledger's HTTP API (ledger/http) under uvicorn.

Each worker process opens its own ledger connections; the URL reaches them through
$STOCKCARD_LEDGER_URL. On SQLite several workers are fine: SQLite serialises writers.
"""

from __future__ import annotations

import argparse
import os

from ledger.storage import DEFAULT_URL


def add_command(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run the HTTP API (token-authenticated JSON)")
    serve.add_argument("--db", help=f"ledger URL (default $STOCKCARD_LEDGER_URL or {DEFAULT_URL})")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--log-level", default="warning")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    if args.db:
        os.environ["STOCKCARD_LEDGER_URL"] = args.db
    uvicorn.run(
        "ledger.http.app:from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,
    )
    return 0
