"""The null solver: allocates nothing, so every unit is reported unfilled.

It exercises the plumbing (registry, Plan, checker) and is the trivial baseline.
"""

from __future__ import annotations

from typing import ClassVar

from omnistock.compiled import CompiledScenario
from omnistock.solvers.base import Capabilities, NoOptions, Solution, empty_solution


class NullSolver:
    """Allocate nothing."""

    name: ClassVar[str] = "null"
    capabilities: ClassVar[Capabilities] = Capabilities(per_order=True)
    Options: ClassVar[type[NoOptions]] = NoOptions

    def run(self, compiled: CompiledScenario, options: NoOptions) -> Solution:
        """Return the empty solution."""
        return empty_solution()
