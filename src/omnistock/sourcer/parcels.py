"""The parcels a Sourcer's decision takes at its pickup locker (S11).

The rule's reading of the compiled arrays is :mod:`omnistock.compiled.lockers`;
here the two steps that need a :class:`~omnistock.sourcer.Decision`: the locker id
the pool is told, and the check, under the Sourcer's lock, that the decision's
packages still fit the locker's parcels left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from omnistock.compiled.lockers import locker_index
from omnistock.compiled.network import NO_LIMIT, CompiledNetwork
from omnistock.exceptions import InsufficientStock

if TYPE_CHECKING:
    from omnistock.sourcer.decision import Decision

__all__ = ["decision_locker", "take_parcels"]


def decision_locker(net: CompiledNetwork, decision: Decision) -> str | None:
    """The id of the locker the decision's order is picked up at, else None.

    What the Sourcer passes to ``StockPool.reserve(locker=...)`` / ``amend``.
    """
    locker = locker_index(net, int(decision.request.pickup))
    return None if locker < 0 else str(net.node_ids[locker])


def take_parcels(net: CompiledNetwork, capacity: np.ndarray, decision: Decision) -> int:
    """Check the decision's parcels fit its locker; returns the locker index or -1.

    The caller holds the Sourcer's lock and lowers ``capacity[locker]`` by
    ``len(set(decision.node_idx))`` once the units are taken.

    Raises
    ------
    InsufficientStock
        The locker has fewer parcels left than the decision has packages (a
        concurrent commit took them); the message names the locker.
    """
    locker = locker_index(net, int(decision.request.pickup))
    if locker < 0 or net.node_capacity[locker] >= NO_LIMIT:
        return -1
    parcels = int(np.unique(decision.node_idx).size)
    left = int(capacity[locker])
    if parcels > left:
        sku = decision.order.lines[0].sku
        detail = (
            f"(locker parcels left: locker {str(net.node_ids[locker])!r} can take "
            f"{max(left, 0)} more parcels, the order needs {parcels})"
        )
        raise InsufficientStock(str(net.node_ids[locker]), sku, parcels, left, detail)
    return locker
