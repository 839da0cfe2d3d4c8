"""The quality stage (SPEC P7): Great Expectations validates the marts against the ledger itself
and writes a browsable report (Data Docs) under data/quality/.

Each check compares a mart with what the ledger says, side by side in one frame, so a failing
expectation shows the rows that differ: closing balance per position, owned quantity and value per
facility + SKU, and the events feeding the KPI reports per facility, kind and month. Pure Python:
no Dagster import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ledger import export
from ledger.storage import Store
from pipelines.extract import warehouse_path

DEFAULT_REPORT_DIR = Path(__file__).resolve().parents[1] / "data" / "quality"
REPORT_ENV = "STOCKCARD_QUALITY_DIR"
ZERO = Decimal(0)
FIRST_FAILURES = 10


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One comparison: how many rows were compared, which expectations failed, the first rows
    that differ (as dicts a person can read)."""

    name: str
    description: str
    success: bool
    rows_compared: int
    failed_expectations: list[str]
    first_failures: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QualityReport:
    success: bool
    checks: list[CheckResult]
    report_path: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def failed(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.success]


Rows = tuple[tuple[str, ...], list[tuple[Any, ...]]]


@dataclass(frozen=True, slots=True)
class LedgerFigures:
    """What the comparisons need from the ledger: its state (balances, valuations, layers) and
    its events totalled per facility, kind and month."""

    state: dict[str, Rows]
    event_totals: Rows


@dataclass(frozen=True, slots=True)
class Comparison:
    """A frame of warehouse and ledger values side by side, and the expectations on it."""

    name: str
    description: str
    frame: pd.DataFrame
    expectations: list[Any]
    differs: Callable[[pd.DataFrame], pd.Series]


def report_dir(path: str | os.PathLike[str] | None = None) -> Path:
    chosen = path or os.environ.get(REPORT_ENV) or DEFAULT_REPORT_DIR
    return Path(chosen).resolve()


def check_quality(
    store: Store,
    warehouse: str | os.PathLike[str] | None = None,
    report: str | os.PathLike[str] | None = None,
) -> QualityReport:
    """Compare the warehouse's marts with the ledger, validate with Great Expectations and build
    the Data Docs site; returns every check's outcome and the report's index.html."""
    # the ledger is read once for all four comparisons
    ledger = LedgerFigures(export.state(store), export.event_totals(store))
    with duckdb.connect(str(warehouse_path(warehouse)), read_only=True) as con:
        comparisons = [
            closing_balances(con, ledger),
            owned_valuations(con, ledger),
            event_totals(con, ledger),
            adjustment_totals(con, ledger),
        ]
    return validate(comparisons, report_dir(report))


def closing_balances(con: duckdb.DuckDBPyConnection, ledger: LedgerFigures) -> Comparison:
    columns, rows = ledger.state["balances"]
    ledger = pd.DataFrame(rows, columns=list(columns))
    ledger = ledger.rename(columns={"qty": "ledger_qty", "value": "ledger_value_amount"})
    ledger = ledger[["position_id", "ledger_qty", "ledger_value_amount"]]
    mart = query(
        con,
        """
        select position_id,
               max_by(running_qty, position_sequence) as mart_qty,
               max_by(running_value_amount, position_sequence) as mart_value_amount
        from marts.fct_stock_card
        group by position_id
        """,
    )
    frame = side_by_side(mart, ledger, ["position_id"], ["qty", "value_amount"])
    return Comparison(
        "closing_balances_match_ledger",
        "Closing quantity and value of every position on the stock card mart equal the "
        "ledger's balance of that position.",
        frame,
        pair_expectations(["qty", "value_amount"]),
        lambda df: differing(df, ["qty", "value_amount"]),
    )


def owned_valuations(con: duckdb.DuckDBPyConnection, ledger: LedgerFigures) -> Comparison:
    columns, rows = ledger.state["valuations"]
    ledger = pd.DataFrame(rows, columns=list(columns))
    ledger = ledger.rename(
        columns={"facility": "facility_id", "qty": "ledger_qty", "value": "ledger_value_amount"}
    )
    ledger = ledger[["facility_id", "sku", "ledger_qty", "ledger_value_amount"]]
    mart = query(
        con,
        """
        select facility_id,
               variant_id as sku,
               max_by(facility_owned_running_qty, facility_sequence) as mart_qty,
               max_by(facility_owned_running_value_amount, facility_sequence) as mart_value_amount
        from marts.fct_stock_card
        where is_owned
        group by all
        """,
    )
    frame = side_by_side(mart, ledger, ["facility_id", "sku"], ["qty", "value_amount"])
    return Comparison(
        "owned_valuations_match_ledger",
        "Owned quantity and inventory value per facility and SKU in the stock card mart equal "
        "the ledger's valuation (consigned stock excluded on both sides).",
        frame,
        pair_expectations(["qty", "value_amount"]),
        lambda df: differing(df, ["qty", "value_amount"]),
    )


def event_totals(con: duckdb.DuckDBPyConnection, ledger: LedgerFigures) -> Comparison:
    columns, rows = ledger.event_totals
    ledger = pd.DataFrame(rows, columns=list(columns)).rename(
        columns={
            "facility": "facility_id",
            "kind": "event_kind",
            "event_count": "ledger_event_count",
            "qty": "ledger_qty",
            "cost_delta": "ledger_cost_delta_amount",
        }
    )
    mart = query(
        con,
        """
        select facility_id,
               event_kind,
               strftime(occurred_date, '%Y-%m') as month,
               count(*) as mart_event_count,
               sum(movement_qty) as mart_qty,
               sum(coalesce(cost_delta_amount, 0)) as mart_cost_delta_amount
        from marts.fct_stock_card
        group by all
        """,
    )
    measures = ["event_count", "qty", "cost_delta_amount"]
    frame = side_by_side(mart, ledger, ["facility_id", "event_kind", "month"], measures)
    return Comparison(
        "kpi_inputs_match_ledger_events",
        "Every KPI report reads the stock card mart: its events per facility, kind and month "
        "(count, quantity, cost delta) equal the ledger's own totals.",
        frame,
        pair_expectations(measures),
        lambda df: differing(df, measures),
    )


def adjustment_totals(con: duckdb.DuckDBPyConnection, ledger: LedgerFigures) -> Comparison:
    """rpt_adjustment_trend against the ledger's adjustment events (a reversal counts with the
    kind it reverses, as the report documents)."""
    columns, rows = ledger.event_totals
    totals = pd.DataFrame(rows, columns=list(columns))
    kinds = {"adjustment", "count_variance", "cost_adjustment"}
    direct = totals[totals["kind"].isin(kinds)]
    ledger = (
        direct.groupby(["facility", "month"], as_index=False)
        .agg(ledger_qty=("qty", "sum"), ledger_value_amount=("cost_delta", "sum"))
        .rename(columns={"facility": "facility_id"})
    )
    reversed_part = query(
        con,
        """
        select card.facility_id,
               strftime(card.occurred_date, '%Y-%m') as month,
               sum(card.movement_qty) as qty,
               sum(coalesce(card.cost_delta_amount, 0)) as value_amount
        from marts.fct_stock_card as card
        where card.event_kind = 'reversal'
            and card.reversed_event_kind in ('adjustment', 'count_variance', 'cost_adjustment')
        group by all
        """,
    )
    ledger = add_reversals(ledger, reversed_part)
    mart = query(
        con,
        """
        select facility_id,
               strftime(month_start_date, '%Y-%m') as month,
               sum(net_qty) as mart_qty,
               sum(net_value_amount) as mart_value_amount
        from marts.rpt_adjustment_trend
        group by all
        """,
    )
    frame = side_by_side(mart, ledger, ["facility_id", "month"], ["qty", "value_amount"])
    return Comparison(
        "adjustment_report_matches_ledger",
        "Net adjustment quantity and value per facility and month in rpt_adjustment_trend equal "
        "the ledger's adjustment, count-variance and cost-adjustment events (with their "
        "reversals).",
        frame,
        pair_expectations(["qty", "value_amount"]),
        lambda df: differing(df, ["qty", "value_amount"]),
    )


def query(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """A query's rows as a pandas frame with decimals kept exact (through Arrow, never float)."""
    return con.sql(sql).to_arrow_table().to_pandas()


def add_reversals(ledger: pd.DataFrame, reversals: pd.DataFrame) -> pd.DataFrame:
    """Reversals are one kind in the ledger's totals; the mart knows what each reversed."""
    if reversals.empty:
        return ledger
    merged = ledger.merge(reversals, on=["facility_id", "month"], how="outer")
    for column, extra in (("ledger_qty", "qty"), ("ledger_value_amount", "value_amount")):
        merged[column] = [
            exact(base) + exact(more)
            for base, more in zip(merged[column], merged[extra], strict=True)
        ]
    return merged[["facility_id", "month", "ledger_qty", "ledger_value_amount"]]


def side_by_side(
    mart: pd.DataFrame, ledger: pd.DataFrame, keys: list[str], measures: list[str]
) -> pd.DataFrame:
    """Outer join on the keys; a side without the row counts as zero, so a missing row shows
    as a difference, never as a silent pass."""
    frame = mart.merge(ledger, on=keys, how="outer", indicator="present_in")
    for measure in measures:
        for side in ("mart", "ledger"):
            column = f"{side}_{measure}"
            frame[column] = [exact(value) for value in frame[column]]
    frame["present_in"] = frame["present_in"].astype(str)
    return frame.reset_index(drop=True)


def exact(value: Any) -> Decimal:
    """Decimals stay exact; integers become decimals; a missing value is zero."""
    if value is None or (isinstance(value, float) and value != value):
        return ZERO
    if isinstance(value, float):
        raise TypeError(f"a float reached an exact comparison: {value!r}")
    return Decimal(value).normalize() + ZERO


def differing(frame: pd.DataFrame, measures: list[str]) -> pd.Series:
    mask = pd.Series(False, index=frame.index)
    for measure in measures:
        mask |= frame[f"mart_{measure}"] != frame[f"ledger_{measure}"]
    return mask


def pair_expectations(measures: list[str]) -> list[Any]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A=f"mart_{measure}", column_B=f"ledger_{measure}"
        )
        for measure in measures
    ]


def validate(comparisons: list[Comparison], directory: Path) -> QualityReport:
    """Run each comparison's expectations in a file-backed GX context and build Data Docs."""
    with gx_context(directory) as context:
        source = context.data_sources.add_or_update_pandas(name="stockcard")
        checks = [run_comparison(context, source, comparison) for comparison in comparisons]
        context.build_data_docs()
        index = directory / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return QualityReport(all(check.success for check in checks), checks, str(index))


def run_comparison(context: Any, source: Any, comparison: Comparison) -> CheckResult:
    import great_expectations as gx

    asset = dataframe_asset(source, comparison.name)
    batch = whole_batch(asset)
    suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=comparison.name,
            expectations=comparison.expectations,
            meta={"notes": comparison.description},
        )
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=comparison.name, data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=comparison.name,
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
            result_format={"result_format": "SUMMARY"},
        )
    )
    outcome = checkpoint.run(batch_parameters={"dataframe": comparison.frame})
    failed = [
        str(result.expectation_config.type)
        for run in outcome.run_results.values()
        for result in run.results
        if not result.success
    ]
    bad_rows = comparison.frame[comparison.differs(comparison.frame)]
    return CheckResult(
        name=comparison.name,
        description=comparison.description,
        success=bool(outcome.success) and bad_rows.empty,
        rows_compared=len(comparison.frame),
        failed_expectations=failed,
        first_failures=[readable(row) for row in bad_rows.head(FIRST_FAILURES).to_dict("records")],
    )


def dataframe_asset(source: Any, name: str) -> Any:
    """The comparison's dataframe asset: made on the first run, reused on every later one."""
    if name in {asset.name for asset in source.assets}:
        return source.get_asset(name)
    return source.add_dataframe_asset(name=name)


def whole_batch(asset: Any) -> Any:
    if "whole" in {definition.name for definition in asset.batch_definitions}:
        return asset.get_batch_definition("whole")
    return asset.add_batch_definition_whole_dataframe(name="whole")


def readable(row: dict[str, Any]) -> dict[str, Any]:
    return {key: str(value) if isinstance(value, Decimal) else value for key, value in row.items()}


@contextmanager
def gx_context(directory: Path) -> Iterator[Any]:
    """A file-backed GX project under `directory`, with GX's usage statistics off."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    directory.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(directory))
    context.variables.analytics_enabled = False
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.variables.save()
    yield context
