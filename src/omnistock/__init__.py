"""omnistock: exact, explainable order sourcing for one virtual stock pool.

Every order, from any channel, is served from any warehouse or store by the cheapest
plan that respects the scenario's rules (docs/semantics.md).

Heavy parts (solvers, the live pool, simulation) load on first use, so
``import omnistock`` imports neither OR-Tools nor matplotlib and compiles no kernel.
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
    UnknownOrder,
    UnknownReservation,
    UnknownSolverError,
    UnknownStockRow,
)
from omnistock.model.network import Location, Node, StockRecord
from omnistock.model.orders import Order, OrderLine
from omnistock.model.rules import Costs, Reason, Rules
from omnistock.model.scenario import Scenario
from omnistock.plan import Plan
from omnistock.replanning import Replan, replan
from omnistock.simulation.run import Simulation, simulate
from omnistock.solvers.base import SolveStatus
from omnistock.solving import available_solvers, solve

if TYPE_CHECKING:
    from omnistock import samples
    from omnistock.pool.pool import Reservation, StockPool
    from omnistock.relaxation import relax
    from omnistock.sourcer import Decision, Sourcer

__version__ = "0.1.0"

# Public names that live in modules loaded on first use: name -> module.
_LAZY = {
    "samples": "omnistock.samples",
    "plot": "omnistock.plot",
    "Sourcer": "omnistock.sourcer",
    "Decision": "omnistock.sourcer",
    "StockPool": "omnistock.pool",
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
    "Node",
    "OmnistockError",
    "Order",
    "OrderLine",
    "Plan",
    "PlanCheckError",
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
    "UnknownOrder",
    "UnknownReservation",
    "UnknownSolverError",
    "UnknownStockRow",
    "available_solvers",
    "plot",
    "relax",
    "replan",
    "samples",
    "simulate",
    "solve",
]
