"""Where the pipeline keeps things: the data folder, inbox, archive, ledger, warehouse and the
quality report, each overridable by an environment variable. Pure Python."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "STOCKCARD_DATA_DIR"
LEDGER_ENV = "STOCKCARD_LEDGER_URL"
WAREHOUSE_ENV = "STOCKCARD_WAREHOUSE_PATH"
QUALITY_ENV = "STOCKCARD_QUALITY_DIR"
# The jobs of the code location (pipelines/defs/automation), named here so the command line can
# offer them without importing Dagster.
WHOLE_JOB = "stockcard_job"
JOBS = (WHOLE_JOB, "incremental_job", "period_close_job", "reservation_expiry_job")


@dataclass(frozen=True, slots=True)
class Locations:
    """Every path of one pipeline installation, all under one data folder by default."""

    data_dir: Path
    ledger_url: str
    warehouse: Path
    quality_dir: Path

    @property
    def inbox(self) -> Path:
        return self.data_dir / "inbox"

    @property
    def archive(self) -> Path:
        return self.data_dir / "archive"

    def environment(self) -> dict[str, str]:
        """The variables that make every part of stockcard (dbt's profile, the dashboards, the
        ledger commands) use these locations."""
        return {
            DATA_ENV: str(self.data_dir),
            LEDGER_ENV: self.ledger_url,
            WAREHOUSE_ENV: str(self.warehouse),
            QUALITY_ENV: str(self.quality_dir),
        }


def data_folder() -> Path:
    """$STOCKCARD_DATA_DIR, else data/ beside the code."""
    return Path(os.environ.get(DATA_ENV) or REPO_ROOT / "data").resolve()


def locations(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    ledger_url: str | None = None,
    warehouse: str | os.PathLike[str] | None = None,
) -> Locations:
    """Arguments first, then the environment, then data/ beside the code. With only a data
    folder given, the ledger and warehouse live in it."""
    data = Path(data_dir).resolve() if data_dir else data_folder()
    explicit = data_dir is not None
    url = ledger_url or (None if explicit else os.environ.get(LEDGER_ENV))
    place = warehouse or (None if explicit else os.environ.get(WAREHOUSE_ENV))
    quality = None if explicit else os.environ.get(QUALITY_ENV)
    return Locations(
        data_dir=data,
        ledger_url=url or f"sqlite:///{data / 'ledger.sqlite'}",
        warehouse=Path(place or data / "warehouse.duckdb").resolve(),
        quality_dir=Path(quality or data / "quality").resolve(),
    )
