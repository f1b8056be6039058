"""The status a whole-batch answer reports, read from its objective and bound.

Every path of the ``optimal`` solver (the decomposition driver, and the one-model
paths for rate cards, lockers and nested protection) ends the same way: the best
plan found, a bound no higher than its objective, and a status. The status rule
lives here once, so the paths cannot drift apart:

- ``optimal`` only for a proven optimum: the back-end proved it, or the bound
  meets the objective, and the caller asked for gap 0;
- ``feasible`` for a plan within the gap asked that is not a proof (the back-end
  stopped at the gap, or a run out of time whose bound still closes the gap);
- ``time_limit`` for a run out of time outside the gap;
- anything else (e.g. ``feasible`` for a heuristic fallback) stays as it was.
"""

from __future__ import annotations

from omnistock._kernels.cost import COST_TOL
from omnistock.solvers.base import SolveStatus

__all__ = ["settle"]


def settle(
    status: SolveStatus, objective: float, bound: float, gap: float
) -> SolveStatus:
    """The batch status for an answer that ended as ``status`` (see the module).

    Parameters
    ----------
    status
        How the back-end (or the driver, over its models) ended.
    objective, bound
        The plan's recomputed objective and the valid bound (``bound <= objective``).
    gap
        The relative gap the caller asked for (``OptimalOptions.gap``).
    """
    tol = COST_TOL * (1.0 + abs(objective))
    proven = gap == 0 and objective - bound <= tol
    if status == SolveStatus.OPTIMAL:
        return SolveStatus.OPTIMAL if gap == 0 else SolveStatus.FEASIBLE
    if status == SolveStatus.TIME_LIMIT and objective - bound <= max(
        gap * abs(objective), tol
    ):
        # Out of time, yet the bound closes the gap asked: not a time-limit answer.
        return SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    return status
