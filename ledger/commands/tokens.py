"""`stockcard ledger token issue|revoke|list`: API tokens for the HTTP API (ledger/http).

The token is printed once, when issued; the ledger keeps only its SHA-256 hash.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from ledger.api import Ledger
from ledger.http import tokens

COMMANDS = {"token"}


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("token", help="issue, revoke or list HTTP API tokens")
    actions = parser.add_subparsers(dest="token_action", required=True)
    issue = actions.add_parser("issue", help="a new token for an actor in a role (shown once)")
    issue.add_argument("--actor", required=True, help="whom the token speaks for")
    issue.add_argument("--role", required=True, help="the role it acts in (needs a grant)")
    issue.add_argument("--label", help="what the token is for, e.g. the source system")
    by_whom(issue)
    revoke = actions.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    by_whom(revoke)
    actions.add_parser("list", help="token ids, actors, roles and state (never the tokens)")


def by_whom(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="issuer", help="who does it (default: your user name)")
    parser.add_argument("--as-role", dest="issuer_role", default="sysadmin")


def run(ledger: Ledger, args: argparse.Namespace, actor: str) -> Any:
    if args.token_action == "list":
        return tokens.tokens(ledger)
    issuer = args.issuer or getpass.getuser()
    if args.token_action == "issue":
        return tokens.issue(
            ledger, actor=args.actor, role=args.role, by=issuer, by_role=args.issuer_role,
            label=args.label,
        )  # fmt: skip
    return tokens.revoke(ledger, args.token_id, by=issuer, by_role=args.issuer_role)
