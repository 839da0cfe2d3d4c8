"""Build the dbt warehouse (dbt_project/) on the DuckDB file in-process with dbtRunner.

Pure Python, no Dagster import: the pipeline's dbt assets and the command line call `build`.
dbt's target/ and logs/ stay under dbt_project/; nothing is downloaded (no `dbt deps`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.extract import WAREHOUSE_ENV, warehouse_path

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


@dataclass(frozen=True, slots=True)
class NodeResult:
    """One model, seed or test of a dbt invocation."""

    unique_id: str
    resource_type: str
    status: str
    seconds: float
    failures: int | None
    message: str | None


@dataclass(frozen=True, slots=True)
class BuildSummary:
    """What a dbt invocation did: success, every node's status and time, and the wall time."""

    command: str
    success: bool
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)
    error: str | None = None

    def failed(self) -> list[NodeResult]:
        return [node for node in self.nodes if node.status in ("error", "fail", "runtime error")]

    def by_name(self) -> dict[str, NodeResult]:
        return {node.unique_id.split(".")[-1]: node for node in self.nodes}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build(
    warehouse: str | os.PathLike[str] | None = None,
    *,
    full_refresh: bool = False,
    select: Sequence[str] | str | None = None,
    exclude: Sequence[str] | str | None = None,
    command: str = "build",
    threads: int | None = None,
    dbt_vars: Mapping[str, Any] | None = None,
) -> BuildSummary:
    """Run `dbt <command>` (build: models, data tests and unit tests) on the warehouse.

    `full_refresh` rebuilds incremental models from scratch; `select`/`exclude` take dbt node
    selection syntax. The summary lists every node with its status and seconds.
    """
    args = [command, *project_args()]
    if full_refresh and command in ("build", "run", "seed"):
        args.append("--full-refresh")
    args += _listed("--select", select) + _listed("--exclude", exclude)
    if threads is not None:
        args += ["--threads", str(threads)]
    if dbt_vars:
        args += ["--vars", _yaml_mapping(dbt_vars)]
    return invoke(args, warehouse)


def docs_generate(warehouse: str | os.PathLike[str] | None = None) -> BuildSummary:
    """`dbt docs generate` (catalog and lineage; works offline)."""
    return invoke(["docs", "generate", *project_args()], warehouse)


def project_args() -> list[str]:
    return [
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR),
        "--target-path", str(PROJECT_DIR / "target"),
        "--log-path", str(PROJECT_DIR / "logs"),
    ]  # fmt: skip


def invoke(args: list[str], warehouse: str | os.PathLike[str] | None = None) -> BuildSummary:
    """Run one dbt command in-process on the given warehouse file."""
    from dbt.cli.main import dbtRunner

    started = time.perf_counter()
    with dbt_environment(warehouse_path(warehouse)):
        try:
            outcome = dbtRunner().invoke(args)
        finally:
            release_warehouse()
    seconds = round(time.perf_counter() - started, 3)
    nodes = [_node_result(result) for result in _results(outcome.result)]
    error = None if outcome.exception is None else str(outcome.exception)
    return BuildSummary(args[0], bool(outcome.success), seconds, nodes, error)


def release_warehouse() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open after an in-process invocation.

    DuckDB allows one writer per file, and a process holding it open keeps readers out: a
    read-only connection (the quality stage, the dashboards, `stockcard sql`) fails until it is
    released, in this process as in any other.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if environment is not None:
            environment.close()


@contextmanager
def dbt_environment(path: Path) -> Iterator[None]:
    """The warehouse path and dbt's settings for one invocation, restored afterwards."""
    wanted = {
        WAREHOUSE_ENV: str(path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "DBT_PARTIAL_PARSE": "true",
    }
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _results(result: Any) -> list[Any]:
    return list(getattr(result, "results", None) or [])


def _node_result(result: Any) -> NodeResult:
    node = result.node
    return NodeResult(
        unique_id=node.unique_id,
        resource_type=str(node.resource_type),
        status=str(result.status),
        seconds=round(float(result.execution_time or 0.0), 3),
        failures=result.failures,
        message=result.message,
    )


def _listed(flag: str, value: Sequence[str] | str | None) -> list[str]:
    if not value:
        return []
    values = [value] if isinstance(value, str) else list(value)
    return [flag, *values]


def _yaml_mapping(values: Mapping[str, Any]) -> str:
    # JSON is YAML, and dbt parses --vars as YAML.
    return json.dumps(dict(values), default=str)
