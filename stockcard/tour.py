"""`stockcard tour`: the ledger alone — six weeks of a small retailer posted into a fresh ledger,
then its balances, stock card, valuation and period snapshot (no pipeline, no warehouse)."""

from __future__ import annotations

import argparse


def add_command(subparsers: argparse._SubParsersAction) -> None:
    tour = subparsers.add_parser(
        "tour", help="the ledger alone: post a small retailer's weeks and show what it keeps"
    )
    tour.add_argument("--db", default=None, help="ledger URL (default: a fresh data/demo/ file)")


def run(args: argparse.Namespace) -> int:
    from ledger.demo import run_demo

    return run_demo(args.db)
