"""`stockcard ledger consignment unsettled|settle`: a vendor's sold consigned stock."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ledger import consignment
from ledger.api import Ledger
from ledger.errors import LedgerError

COMMANDS = {"consignment"}


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("consignment", help="unsettled consigned sales; settle them")
    parser.add_argument("action", choices=["unsettled", "settle"])
    parser.add_argument("--vendor", required=True)
    parser.add_argument("--up-to", help="settle sales up to this business time")
    parser.add_argument("--key", help="idempotency key of the settlement (settle)")
    parser.add_argument("--reference", help="the vendor's invoice or statement (settle)")
    parser.add_argument("--actor")
    parser.add_argument("--role", default="finance")


def run(ledger: Ledger, args: argparse.Namespace, actor: str) -> Any:
    if args.action == "unsettled":
        return consignment.unsettled(ledger, args.vendor, args.up_to)
    if not args.key:
        raise LedgerError("validation_error", "key: is required to settle", field="key")
    request = {
        "idempotency_key": args.key,
        "vendor": args.vendor,
        "up_to": args.up_to,
        "reference": args.reference,
        "actor": actor,
        "role": args.role,
    }
    return json.loads(json.dumps(consignment.settle(ledger, request), default=str))
