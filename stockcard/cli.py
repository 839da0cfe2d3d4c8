"""The `stockcard` command: one entry point for every part of the product."""

from __future__ import annotations

import argparse
import os
import sys

from ledger import cli as ledger_cli
from stockcard import dashboard, demo, pipeline, serve, sql, tour


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="stockcard", description="Inventory stock ledger and analytics warehouse."
    )
    commands = root.add_subparsers(dest="command", required=True)
    ledger_cli.add_commands(commands)
    for module in (serve, demo, pipeline, sql, dashboard, tour):
        module.add_command(commands)
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
    modules = {
        "serve": serve, "demo": demo, "pipeline": pipeline, "sql": sql, "dashboard": dashboard,
        "tour": tour,
    }  # fmt: skip
    return modules[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
