"""Quality stage (P7): Great Expectations checks the marts against the ledger and builds a
report a person can open (Data Docs)."""

from collections.abc import Iterator

import dagster as dg

from pipelines import quality
from pipelines.defs.dbt.assets import warehouse_models
from pipelines.defs.resources import StockcardResource

CHECKS = (
    "closing_balances_match_ledger",
    "owned_valuations_match_ledger",
    "kpi_inputs_match_ledger_events",
    "adjustment_report_matches_ledger",
)
COMPARED = [
    key
    for key in warehouse_models.keys
    if key.path[-1] in ("fct_stock_card", "rpt_adjustment_trend")
]


@dg.asset(
    group_name="quality",
    deps=[*COMPARED, "replenishment_suggestions"],
    check_specs=[dg.AssetCheckSpec(name, asset="quality_report") for name in CHECKS],
)
def quality_report(
    context: dg.AssetExecutionContext, stockcard: StockcardResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Marts vs ledger: closing balances, valuations, KPI inputs; the report's index.html."""
    places = stockcard.locations()
    with stockcard.ledger() as ledger:
        report = quality.check_quality(ledger.store, places.warehouse, places.quality_dir)
    context.log.info(f"quality: {'passed' if report.success else 'FAILED'}: {report.report_path}")
    yield dg.MaterializeResult(
        metadata={
            "success": report.success,
            "report": dg.MetadataValue.path(report.report_path),
            "checks_failed": len(report.failed()),
        }
    )
    for check in report.checks:
        yield dg.AssetCheckResult(
            check_name=check.name,
            passed=check.success,
            description=check.description,
            metadata={
                "rows_compared": check.rows_compared,
                "failed_expectations": ", ".join(check.failed_expectations) or "none",
                "first_differences": dg.MetadataValue.json(check.first_failures),
                "report": dg.MetadataValue.path(report.report_path),
            },
        )
