"""The stock ledger: the one writer of stock truth.

Postings go through `Ledger`; every rejection is a `LedgerError` with a stable code.
"""

from __future__ import annotations

from ledger.api import Ledger
from ledger.errors import LedgerError

__all__ = ["Ledger", "LedgerError"]
