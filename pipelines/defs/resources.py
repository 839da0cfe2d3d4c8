"""Resources every stage shares: where things live (StockcardResource) and dbt's CLI."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from ledger.api import Ledger
from pipelines.defs.dbt.project import dbt_project
from pipelines.settings import Locations, locations


class StockcardResource(dg.ConfigurableResource):
    """The data folder, ledger URL and warehouse file; empty means the environment's or the
    defaults under data/ (pipelines/settings.py)."""

    data_dir: str = ""
    ledger_url: str = ""
    warehouse: str = ""

    def locations(self) -> Locations:
        return locations(
            self.data_dir or None,
            ledger_url=self.ledger_url or None,
            warehouse=self.warehouse or None,
        )

    @contextmanager
    def ledger(self) -> Iterator[Ledger]:
        """The ledger, created or upgraded on first use (init is idempotent)."""
        with Ledger.open(self.locations().ledger_url) as ledger:
            ledger.init()
            yield ledger


def dbt_executable() -> str:
    """dbt from this environment, whether or not its bin folder is on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "stockcard": StockcardResource(),
            "dbt": DbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable()),
        },
        executor=dg.in_process_executor,
    )
