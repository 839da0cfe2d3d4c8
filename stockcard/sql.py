"""`stockcard sql`: read-only SQL on the warehouse — one query, a script on stdin, or a small
interactive shell. The warehouse is opened read-only, so nothing here can change it."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import duckdb

from pipelines.extract import warehouse_path


def add_command(subparsers: argparse._SubParsersAction) -> None:
    sql = subparsers.add_parser("sql", help="query the warehouse read-only (query, stdin or shell)")
    sql.add_argument("query", nargs="?", help="SQL to run; without it: stdin, or a shell")
    sql.add_argument("--warehouse", help="DuckDB file (default $STOCKCARD_WAREHOUSE_PATH or data/)")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")


def run(args: argparse.Namespace) -> int:
    path = warehouse_path(args.warehouse)
    if not path.exists():
        print(f"stockcard sql: no warehouse at {path}; build one with `stockcard demo` or "
              "`stockcard pipeline run`", file=sys.stderr)  # fmt: skip
        return 2
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        print(f"stockcard sql: cannot open {path} read-only: {error}", file=sys.stderr)
        return 2
    with con:
        if args.query:
            return execute(con, args.query, args.format)
        if not sys.stdin.isatty():
            return execute(con, sys.stdin.read(), args.format)
        return shell(con, args.format)


def execute(con: duckdb.DuckDBPyConnection, sql: str, output: str) -> int:
    try:
        cursor = con.execute(sql)
    except duckdb.Error as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if cursor.description is None:
        return 0
    columns = [column[0] for column in cursor.description]
    write(columns, cursor.fetchall(), output)
    return 0


def shell(con: duckdb.DuckDBPyConnection, output: str) -> int:
    print("stockcard sql (read-only). End a statement with ';'. Ctrl-D to leave. "
          "Try: show all tables;")  # fmt: skip
    buffer: list[str] = []
    while True:
        try:
            line = input("sql> " if not buffer else "...> ")
        except EOFError:
            print()
            return 0
        buffer.append(line)
        if line.rstrip().endswith(";"):
            execute(con, "\n".join(buffer), output)
            buffer = []


def write(columns: Sequence[str], rows: Sequence[Sequence[Any]], output: str) -> None:
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([[text(value) for value in row] for row in rows])
    elif output == "json":
        for row in rows:
            print(json.dumps({c: text(v) for c, v in zip(columns, row, strict=True)}))
    else:
        table(columns, rows)


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[text(value) or "" for value in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    print("  ".join(name.ljust(width) for name, width in zip(columns, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
