"""Command-line modules of the ledger's workflows, found at start-up.

Each module here defines `add_commands(commands)` (argparse sub-parsers under
`stockcard ledger`), `COMMANDS` (the names it added) and `run(ledger, args, actor)`, which
returns the JSON-able result or raises `LedgerError`.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    ]
