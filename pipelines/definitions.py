"""The Dagster code location: every stage under pipelines/defs/, loaded as one Definitions.

`dagster dev` (run by `stockcard pipeline dev`) and `stockcard demo|pipeline run` load this.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
