"""omnistock: exact, explainable order sourcing for one virtual stock pool.

Every order, from any channel, is served from any warehouse or store by the cheapest
plan that respects the scenario's rules (docs/semantics.md).

Everything but the contract and the errors loads on first use, so ``import
omnistock`` imports neither numba, polars, OR-Tools nor matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from omnistock.exceptions import (
    DecisionError,
    InsufficientStock,
    InvalidAdjustment,
    InvalidArgument,
    InvalidOptionError,
    InvalidOptionValue,
    InvalidRequest,
    JournalError,
    JournalLocked,
    KeyConflict,
    OmnistockError,
    PlanCheckError,
    ReservationClosed,
    ScenarioError,
    StoreError,
    UnknownOrder,
    UnknownReservation,
    UnknownSolverError,
    UnknownStockRow,
)
from omnistock.model.network import Location, Node, StockRecord
from omnistock.model.orders import Order, OrderLine
from omnistock.model.rules import Costs, Reason, Rules
from omnistock.model.scenario import Scenario

if TYPE_CHECKING:
    from omnistock import plot, samples
    from omnistock.plan import Plan
    from omnistock.pool.pgstore import PostgresStore
    from omnistock.pool.pool import Reservation, StockPool
    from omnistock.pool.store import MemoryStore
    from omnistock.relaxation import relax
    from omnistock.replanning import Replan, replan
    from omnistock.scale import make_executor
    from omnistock.simulation.many import simulate_many, sweep
    from omnistock.simulation.run import Simulation, simulate
    from omnistock.solvers.base import SolveStatus
    from omnistock.solving import available_solvers, solve
    from omnistock.sourcer import Decision, Sourcer

__version__ = "0.1.0"

# Public names that live in modules loaded on first use: name -> module. Only the
# contract (pydantic) and the errors load with the package, so ``import omnistock``
# stays cheap (no numpy kernels, polars, numba, OR-Tools or matplotlib).
_LAZY = {
    "Plan": "omnistock.plan",
    "Replan": "omnistock.replanning",
    "replan": "omnistock.replanning",
    "Simulation": "omnistock.simulation.run",
    "simulate": "omnistock.simulation.run",
    "simulate_many": "omnistock.simulation.many",
    "sweep": "omnistock.simulation.many",
    "make_executor": "omnistock.scale",
    "SolveStatus": "omnistock.solvers.base",
    "available_solvers": "omnistock.solving",
    "solve": "omnistock.solving",
    "samples": "omnistock.samples",
    "plot": "omnistock.plot",
    "Sourcer": "omnistock.sourcer",
    "Decision": "omnistock.sourcer",
    "StockPool": "omnistock.pool",
    "MemoryStore": "omnistock.pool",
    "PostgresStore": "omnistock.pool",
    "Reservation": "omnistock.pool",
    "relax": "omnistock.relaxation",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'omnistock' has no attribute {name!r}"
        raise AttributeError(msg)
    mod = importlib.import_module(module)
    # A function named like its module (simulate, relax) wins over the module.
    value = getattr(mod, name, mod)
    globals()[name] = value
    return value


__all__ = [
    "Costs",
    "Decision",
    "DecisionError",
    "InsufficientStock",
    "InvalidAdjustment",
    "InvalidOptionError",
    "InvalidArgument",
    "InvalidOptionValue",
    "InvalidRequest",
    "JournalError",
    "JournalLocked",
    "KeyConflict",
    "Location",
    "MemoryStore",
    "Node",
    "OmnistockError",
    "Order",
    "OrderLine",
    "Plan",
    "PlanCheckError",
    "PostgresStore",
    "Reason",
    "Replan",
    "Reservation",
    "ReservationClosed",
    "Rules",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SolveStatus",
    "Sourcer",
    "StockPool",
    "StockRecord",
    "StoreError",
    "UnknownOrder",
    "UnknownReservation",
    "UnknownSolverError",
    "UnknownStockRow",
    "available_solvers",
    "make_executor",
    "plot",
    "relax",
    "replan",
    "samples",
    "simulate",
    "simulate_many",
    "solve",
    "sweep",
]
