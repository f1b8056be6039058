"""The ``optimal`` solver: exact batch optimisation with OR-Tools.

The parts, in the order a batch meets them: :mod:`.candidates` (the (order, node)
packages worth considering, split into independent components), :mod:`.milp` (the
fixed-charge MILP of a model), :mod:`.colgen` (column generation over its LP),
:mod:`.bounds` (Lagrangian and line-split bounds), :mod:`.flows` and
:mod:`.line_flow` (min-cost-flow paths for unit orders and very large models),
:mod:`.repair` (completing a partial plan) and :mod:`.solver` (the driver).
"""

from __future__ import annotations

from omnistock.solvers.optimal.solver import OptimalOptions, OptimalSolver

__all__ = ["OptimalOptions", "OptimalSolver"]
