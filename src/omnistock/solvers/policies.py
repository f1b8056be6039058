"""The peers' policies as solvers: ``priority``, ``nearest`` and ``most_stock``.

Baselines for users migrating from Magento MSI, Saleor or Solidus: one walk per
line over a fixed node order, no cost model (docs/solvers.md). They obey every
rule of docs/semantics.md and their plans are priced by the same cost kernel as
every other solver. The walks live in ``_kernels/walks.py``; orders are decided in
scenario order in one numba call, like ``greedy``.
"""

from __future__ import annotations

from typing import ClassVar

from omnistock._kernels.codes import (
    POLICY_MOST_STOCK,
    POLICY_NEAREST,
    POLICY_PRIORITY,
)
from omnistock.compiled import CompiledScenario
from omnistock.solvers.base import Capabilities, NoOptions, Solution
from omnistock.solvers.greedy import run_batch

__all__ = ["MostStockSolver", "NearestSolver", "PrioritySolver"]


class _WalkSolver:
    """A peer policy: every order in scenario order walked by ``policy``."""

    name: ClassVar[str]
    policy: ClassVar[int]
    capabilities: ClassVar[Capabilities] = Capabilities(per_order=True)
    Options: ClassVar[type[NoOptions]] = NoOptions

    def run(self, compiled: CompiledScenario, options: NoOptions) -> Solution:
        """Walk every order in scenario order."""
        return run_batch(compiled, self.policy)


class PrioritySolver(_WalkSolver):
    """Nodes by ascending priority, ties by scenario node order."""

    name: ClassVar[str] = "priority"
    policy: ClassVar[int] = POLICY_PRIORITY


class NearestSolver(_WalkSolver):
    """Nodes by ascending distance to the destination, ties by priority, node order."""

    name: ClassVar[str] = "nearest"
    policy: ClassVar[int] = POLICY_NEAREST


class MostStockSolver(_WalkSolver):
    """Per line, nodes by descending free units of its SKU, ties by priority, node order."""

    name: ClassVar[str] = "most_stock"
    policy: ClassVar[int] = POLICY_MOST_STOCK
