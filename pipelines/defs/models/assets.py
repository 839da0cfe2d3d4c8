"""Models stage: replenishment, rebalancing and ABC/XYZ (Polars) on the marts, written back to
the warehouse. Suggestions never move stock."""

from collections.abc import Iterator

import dagster as dg

from pipelines import modelling
from pipelines.defs.dbt.assets import warehouse_models
from pipelines.defs.resources import StockcardResource

# The marts the models read (pipelines/modelling.py); those the dbt project has become deps.
READS = (
    "fct_stock_card", "dim_facilities", "fct_receipts", "fct_transfer_shipments",
    "fct_reservations", "stg_ledger__transfer_shipment_lines", "stg_ledger__variant_keys",
)  # fmt: skip
UPSTREAM = [key for key in warehouse_models.keys if key.path[-1] in READS]


@dg.multi_asset(
    group_name="models",
    specs=[
        dg.AssetSpec(name, deps=[*UPSTREAM, "ledger_master_data"], description=description)
        for name, description in (
            ("replenishment_suggestions", "Reorder suggestions per facility + SKU (M1)."),
            ("transfer_suggestions", "Rebalancing transfers vs vendor buys (M2)."),
            ("abc_xyz", "ABC by consumption value, XYZ by demand variability (M3)."),
        )
    ],
    check_specs=[
        dg.AssetCheckSpec("suggestions_are_explained", asset="replenishment_suggestions"),
    ],
)
def model_outputs(
    context: dg.AssetExecutionContext, stockcard: StockcardResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    summary = modelling.run_models(stockcard.locations().warehouse)
    context.log.info(f"models: {summary}")
    rows = summary.get("rows", {})
    for name in modelling.OUTPUT_TABLES:
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={"rows": int(rows.get(name, 0)), "as_of": str(summary.get("as_of"))},
        )
    yield explained_check(stockcard)


def explained_check(stockcard: StockcardResource) -> dg.AssetCheckResult:
    """Every suggestion carries its rationale: a number nobody can explain is not acted on."""
    import duckdb

    with duckdb.connect(str(stockcard.locations().warehouse), read_only=True) as con:
        total, unexplained = con.execute(
            "select count(*), count(*) filter (where coalesce(rationale, '') = '') "
            "from marts.replenishment_suggestions"
        ).fetchone()
    return dg.AssetCheckResult(
        check_name="suggestions_are_explained",
        asset_key="replenishment_suggestions",
        passed=unexplained == 0,
        metadata={"suggestions": total, "without_rationale": unexplained},
    )
