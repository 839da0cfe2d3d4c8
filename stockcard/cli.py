"""The `stockcard` command: one entry point for every part of the product."""

from __future__ import annotations

import argparse
import os
import sys

from ledger import cli as ledger_cli
from stockcard import serve


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="stockcard", description="Inventory stock ledger and analytics warehouse."
    )
    commands = root.add_subparsers(dest="command", required=True)
    ledger_cli.add_commands(commands)
    serve.add_command(commands)
    demo = commands.add_parser(
        "demo", help="post a realistic sequence into a fresh ledger and print the results"
    )
    demo.add_argument("--db", default=None, help="ledger URL (default: a fresh demo file)")
    return root


def main(argv: list[str] | None = None) -> int:
    try:
        return dispatch(parser().parse_args(argv))
    except BrokenPipeError:
        # the reader went away (`stockcard … | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "ledger":
        return ledger_cli.run(args)
    if args.command == "serve":
        return serve.run(args)
    if args.command == "demo":
        from ledger.demo import run_demo

        return run_demo(args.db)
    return 2


if __name__ == "__main__":
    sys.exit(main())
