"""A compiled network with a compiled batch of orders: what every solver reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from omnistock.compiled.network import CompiledNetwork, compile_network
from omnistock.compiled.orders import CompiledOrders, compile_orders

if TYPE_CHECKING:
    from omnistock.model.scenario import Scenario

__all__ = ["CompiledScenario", "compile_scenario"]


@dataclass(frozen=True, eq=False)
class CompiledScenario:
    """A compiled network with a compiled batch of orders."""

    network: CompiledNetwork
    orders: CompiledOrders


def compile_scenario(scenario: Scenario) -> CompiledScenario:
    """Compile a whole scenario; SKUs ordered but never stocked are known too."""
    order_skus = {line.sku for o in scenario.orders for line in o.lines}
    network = compile_network(scenario, extra_skus=sorted(order_skus))
    return CompiledScenario(
        network=network, orders=compile_orders(network, scenario.orders)
    )
