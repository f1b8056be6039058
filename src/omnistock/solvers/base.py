"""What a solver is: its protocol, capabilities, status vocabulary and result."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from omnistock.compiled import CompiledScenario

__all__ = [
    "Capabilities",
    "NoOptions",
    "Solution",
    "SolveStatus",
    "Solver",
    "empty_solution",
]


class SolveStatus(StrEnum):
    """How a plan ended: proven optimal, feasible (heuristic or gap), or time limit."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    TIME_LIMIT = "time_limit"


@dataclass(frozen=True)
class Capabilities:
    """What a solver promises; callers read these, never the solver's name.

    Each capability that names an option promises that option in ``Options``
    (tests/solvers/test_contract.py checks every registered solver).

    Attributes
    ----------
    exact
        Proves the batch optimum (status ``optimal``) when given time, and reports
        a proven lower bound (``Solution.bound``).
    per_order
        Decides orders one at a time in scenario order, each against the stock the
        earlier ones left (the simulator then decides a segment in one call).
    exact_per_order
        Each order gets its exact cheapest decision under every rule against the
        stock left, so on a one-order scenario the plan is optimal.
    time_limit
        Honours a ``time_limit`` option (seconds).
    priced
        Takes a price per stock row (``row_cost``, ``exempt_row_cost`` options)
        that the simulator refreshes on a schedule.
    progress
        Takes a ``progress`` callback option, called as the solve advances.
    seeded
        Takes a ``seed`` option (its back-end draws random numbers).
    """

    exact: bool = False
    per_order: bool = False
    exact_per_order: bool = False
    time_limit: bool = False
    priced: bool = False
    progress: bool = False
    seeded: bool = False


class NoOptions(BaseModel):
    """Options of a solver that takes none."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass
class Solution:
    """A solver's raw answer: allocation triples over compiled indices.

    Attributes
    ----------
    line_idx : int64[k]
        Line of each allocation (into ``CompiledOrders`` lines).
    node_idx : int64[k]
        Node of each allocation.
    qty : int64[k]
        Units, all > 0.
    status
        How the solve ended.
    bound
        A proven lower bound on the objective, when the solver has one.
    info
        Solver-specific figures (iterations, back-end, ...).
    """

    line_idx: np.ndarray
    node_idx: np.ndarray
    qty: np.ndarray
    status: SolveStatus = SolveStatus.FEASIBLE
    bound: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


def empty_solution() -> Solution:
    """A solution that allocates nothing."""
    empty = np.empty(0, dtype=np.int64)
    return Solution(line_idx=empty, node_idx=empty.copy(), qty=empty.copy())


class Solver(Protocol):
    """A registered solver: a name, capabilities, an options model and ``run``."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    Options: ClassVar[type[BaseModel]]

    def run(self, compiled: CompiledScenario, options: Any) -> Solution:
        """Solve the compiled scenario under ``options`` (an ``Options`` instance)."""
        ...
