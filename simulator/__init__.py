"""The outside world for demos and tests: a simulated retailer's source systems writing feed
files into an inbox, deterministic by seed, from a few thousand to tens of millions of movements."""

from __future__ import annotations

from simulator.run import SimulationSummary, simulate
from simulator.scale import NAMED_SCALES

__all__ = ["NAMED_SCALES", "SimulationSummary", "simulate"]
