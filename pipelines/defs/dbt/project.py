"""The one DbtProject of the code location, built once; its manifest is prepared by
`prepare_manifest` (dbt parse) before the definitions load, never at import time."""

from functools import lru_cache
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.warehouse import PROJECT_DIR, invoke, project_args


class ManifestMissing(RuntimeError):
    """The dbt manifest has not been prepared."""


@lru_cache(maxsize=1)
def dbt_project() -> DbtProject:
    return DbtProject(
        project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR, target_path=PROJECT_DIR / "target"
    )


def prepare_manifest() -> None:
    """`dbt parse` in-process: writes target/manifest.json, which the dbt assets are read from.
    Run by every `stockcard pipeline` command and the test suite before loading definitions."""
    summary = invoke(["parse", *project_args()])
    if not summary.success:
        raise ManifestMissing(f"dbt parse failed: {summary.error}")


def manifest_path() -> Path:
    path = dbt_project().manifest_path
    if not path.exists():
        raise ManifestMissing(
            f"{path} does not exist: prepare it with `stockcard pipeline prepare` (dbt parse) "
            "before loading the pipeline's definitions"
        )
    return path
