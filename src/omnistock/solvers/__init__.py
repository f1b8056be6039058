"""The solver registry: names -> solver classes, imported only when used.

Built-in solvers are listed by module path so ``import omnistock`` stays cheap (no
OR-Tools import, no kernel compilation). Users add their own with :func:`register`.
Callers read a solver's ``capabilities`` (:class:`.base.Capabilities`), never its
name, and check its options with :func:`omnistock.solving.validate_options`.

The modules of this package: :mod:`.base` (protocol, capabilities, status),
:mod:`.sequential` (solve a subset of a batch's orders and map back), the solvers
:mod:`.null`, :mod:`.greedy`, :mod:`.policies` (priority, nearest, most_stock),
:mod:`.lookahead` and :mod:`.optimal` (a subpackage of its private parts).
"""

from __future__ import annotations

import importlib
from typing import Any

from omnistock.exceptions import UnknownSolverError
from omnistock.solvers.base import Solver

__all__ = ["available_solvers", "get", "register"]

# name -> "module:Class", imported by ``get`` on first use.
_BUILTIN: dict[str, str] = {
    "null": "omnistock.solvers.null:NullSolver",
    "greedy": "omnistock.solvers.greedy:GreedySolver",
    "priority": "omnistock.solvers.policies:PrioritySolver",
    "nearest": "omnistock.solvers.policies:NearestSolver",
    "most_stock": "omnistock.solvers.policies:MostStockSolver",
    "optimal": "omnistock.solvers.optimal:OptimalSolver",
    "lookahead": "omnistock.solvers.lookahead:LookaheadSolver",
}
_REGISTERED: dict[str, Any] = {}


def register(solver: Any) -> Any:
    """Register a solver class (it has ``name``, ``capabilities``, ``Options``, ``run``).

    Usable as a class decorator; returns the class unchanged.
    """
    _REGISTERED[solver.name] = solver
    return solver


def available_solvers() -> list[str]:
    """Names of every solver that ``solve`` accepts, sorted."""
    return sorted(set(_BUILTIN) | set(_REGISTERED))


def get(name: str) -> Solver:
    """A fresh instance of the solver called ``name``."""
    if name in _REGISTERED:
        return _REGISTERED[name]()  # type: ignore[no-any-return]
    path = _BUILTIN.get(name)
    if path is None:
        raise UnknownSolverError(name, available_solvers())
    module, cls = path.split(":", 1)
    return getattr(importlib.import_module(module), cls)()  # type: ignore[no-any-return]
