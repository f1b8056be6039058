"""The compiled form of a scenario: numpy arrays, the only input solvers read.

A :class:`~omnistock.Scenario` compiles once (``scenario.compiled()``) into a
:class:`CompiledNetwork` (nodes, stock, rules, costs; :mod:`.network`) and
:class:`CompiledOrders` (orders and their lines in CSR form; :mod:`.orders`).
:mod:`.allocations` reads solutions back as (line, node, qty) triples.
"""

from __future__ import annotations

from omnistock.compiled.network import (
    KIND_CODES,
    METHOD_CODES,
    NO_LIMIT,
    CompiledNetwork,
    compile_network,
)
from omnistock.compiled.orders import CompiledOrders, compile_orders
from omnistock.compiled.scenario import CompiledScenario, compile_scenario
from omnistock.compiled.state import StockState

__all__ = [
    "KIND_CODES",
    "METHOD_CODES",
    "NO_LIMIT",
    "CompiledNetwork",
    "CompiledOrders",
    "CompiledScenario",
    "StockState",
    "compile_network",
    "compile_orders",
    "compile_scenario",
]
