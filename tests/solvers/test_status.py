"""The one status rule of the optimal solver's answers (solvers/optimal/status.py)."""

from __future__ import annotations

import pytest

from omnistock.solvers.base import SolveStatus
from omnistock.solvers.optimal.status import settle

OPT, FEAS, TL = SolveStatus.OPTIMAL, SolveStatus.FEASIBLE, SolveStatus.TIME_LIMIT


@pytest.mark.parametrize(
    ("status", "objective", "bound", "gap", "expected"),
    [
        (OPT, 100.0, 100.0, 0.0, OPT),  # proven by the back-end
        (OPT, 100.0, 99.5, 0.01, FEAS),  # stopped at the gap asked: not a proof
        (TL, 100.0, 100.0, 0.0, OPT),  # out of time, but the bound meets the plan
        (TL, 100.0, 99.5, 0.01, FEAS),  # out of time, within the gap asked
        (TL, 100.0, 98.0, 0.01, TL),  # out of time outside the gap
        (TL, 100.0, 99.5, 0.0, TL),  # gap 0 asked: 0.5 % short is not within it
        (FEAS, 100.0, 100.0, 0.0, FEAS),  # a heuristic fallback stays feasible
        (FEAS, 100.0, 0.0, 0.01, FEAS),
    ],
)
def test_settle(
    status: SolveStatus,
    objective: float,
    bound: float,
    gap: float,
    expected: SolveStatus,
) -> None:
    assert settle(status, objective, bound, gap) == expected


def test_settle_reads_the_cost_tolerance_relative_to_the_objective() -> None:
    # 1e-6 x (1 + 1e6) ~ 1.0: a bound 0.5 below a plan of 1e6 is a proof at gap 0.
    assert settle(TL, 1e6, 1e6 - 0.5, 0.0) == OPT
    assert settle(TL, 1e6, 1e6 - 5.0, 0.0) == TL
