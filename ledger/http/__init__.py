"""The ledger's HTTP API (SPEC L9.1): FastAPI routes over the Python API, token-authenticated.

`create_app(url)` builds the ASGI app; `stockcard serve` runs it with uvicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app(url: str | None = None) -> FastAPI:
    """The HTTP API over the ledger at `url` (else $STOCKCARD_LEDGER_URL, else the default)."""
    from ledger.http.app import create_app as build

    return build(url)


__all__ = ["create_app"]
