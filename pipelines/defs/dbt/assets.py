"""The warehouse's dbt models as Dagster assets; dbt's data and unit tests become asset checks.

Every dbt source is a table of the raw schema the extract stage writes: source `x` is the asset
`raw/x`, materialised by the extract stage.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.defs.dbt.project import dbt_project, manifest_path
from pipelines.defs.resources import StockcardResource
from pipelines.warehouse import dbt_environment


def raw_key(dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
    return dg.AssetKey(["raw", dbt_resource_props.get("identifier") or dbt_resource_props["name"]])


def raw_sources() -> list[dg.AssetKey]:
    """The raw tables the dbt project reads (its sources), from the prepared manifest."""
    manifest = json.loads(manifest_path().read_text())
    return sorted({raw_key(source) for source in manifest["sources"].values()}, key=str)


class WarehouseTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_key(dbt_resource_props)
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # staging, intermediate or marts: the layer the model's folder is in
        layer = dbt_resource_props.get("fqn", ["", "models"])[1]
        return f"warehouse_{layer}"


class DbtBuildConfig(dg.Config):
    """`full_refresh` rebuilds the incremental models from scratch (after a full extract)."""

    full_refresh: bool = False


@dbt_assets(
    manifest=manifest_path(),
    project=dbt_project(),
    dagster_dbt_translator=WarehouseTranslator(),
)
def warehouse_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    stockcard: StockcardResource,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    """`dbt build` of the selected models on the warehouse file (seeds, models, tests)."""
    args = ["build", *(["--full-refresh"] if config.full_refresh else [])]
    with dbt_environment(stockcard.locations().warehouse):
        yield from dbt.cli(args, context=context).stream()
