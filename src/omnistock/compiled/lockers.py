"""Lockers (docs/semantics.md, S11) read off the compiled arrays: the parcel counter.

A locker holds no stock; its entry of the node capacity counter counts the
parcels it can still take (``_kernels.lockers``). The batch kernels keep it
themselves; the Python side reads it here, once for every caller: the orders
picked up at a limited locker (the optimal solver, re-planning), the parcels a
plan sends to each (the sequential solvers), the parcel limit that lowers an
order's split limit and explain's locker reasons (the Sourcer), and the refusal
of a stock row at a locker (the pool). The Sourcer's commit takes parcels in
:mod:`omnistock.sourcer.parcels`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from omnistock._kernels.codes import LOCKER
from omnistock.compiled.network import NO_LIMIT, CompiledNetwork
from omnistock.exceptions import UnknownStockRow
from omnistock.model.rules import Reason

if TYPE_CHECKING:
    from omnistock.compiled import CompiledScenario

__all__ = [
    "explain_reasons",
    "locker_index",
    "order_lockers",
    "parcel_limit",
    "parcels_by_locker",
    "parcels_taken",
    "refuse_locker_row",
]


def locker_index(net: CompiledNetwork, pickup: int) -> int:
    """The node index of the order's locker (its pickup node, if a locker), else -1."""
    if pickup >= 0 and int(net.node_kind[pickup]) == LOCKER:
        return pickup
    return -1


def parcel_limit(
    net: CompiledNetwork,
    capacity: np.ndarray,
    locker: int,
    split_limit: int,
    *,
    pooled: bool,
    order_id: str,
) -> int:
    """The order's split limit under the locker's parcels left (S6, S11).

    ``capacity`` is the live counter: on a pool (``pooled``) the pool's, whose
    locker entry ``open_period`` may limit even when the scenario does not, so
    it is always read there (an unlimited entry leaves ``split_limit``).
    ``order_id`` is kept for the callers' signature.
    """
    if net.node_capacity[locker] >= NO_LIMIT and not pooled:
        return split_limit
    return min(split_limit, max(int(capacity[locker]), 0))


def explain_reasons(
    reason: np.ndarray, net: CompiledNetwork, pickup: int, capacity: np.ndarray
) -> np.ndarray:
    """``explain()``'s reasons with the order's locker named (docs/explain.md).

    The locker's own row reads ``pickup_locker``; when it has no parcel left
    (``capacity[locker]`` at the decision), every node that was ``eligible``
    reads ``locker_full``: it could give units, but no package can go there.
    The live counter decides, not the scenario's capacity: a pool's period may
    limit a locker the scenario leaves unlimited (an unlimited one never
    falls to 0).
    """
    locker = locker_index(net, pickup)
    if locker < 0:
        return reason
    out = reason.copy()
    out[locker] = Reason.PICKUP_LOCKER
    if capacity[locker] <= 0:
        out[out == Reason.ELIGIBLE] = Reason.LOCKER_FULL
    return out


def parcels_taken(
    net: CompiledNetwork,
    order_pickup: np.ndarray,
    a_order: np.ndarray,
    a_node: np.ndarray,
    pickup: int,
) -> int:
    """Packages of the allocations ``(a_order, a_node)`` of orders at locker ``pickup``."""
    if locker_index(net, pickup) < 0:
        return 0
    at = order_pickup[a_order] == pickup
    return int(np.unique(a_order[at] * max(net.n_nodes, 1) + a_node[at]).size)


def refuse_locker_row(net: CompiledNetwork, node_id: str, sku: str) -> None:
    """Raise when a pool would add a stock row at a locker (S11: it holds no stock).

    A receipt (``adjust``) or a return (``receive_return``) at a locker is
    refused, naming the locker and the SKU: the units belong at a store or a
    warehouse.
    """
    node = net.node_index.get(node_id, -1)
    if node >= 0 and int(net.node_kind[node]) == LOCKER:
        detail = (
            f"Node {node_id!r} is a locker, which holds no stock (S11): receive "
            "the units at a store or a warehouse."
        )
        raise UnknownStockRow(node_id, sku, detail)


def order_lockers(compiled: CompiledScenario) -> np.ndarray:
    """int64[n_orders]: the capacity-limited locker each order is picked up at, else -1."""
    net, orders = compiled.network, compiled.orders
    pickup = orders.order_pickup
    safe = np.maximum(pickup, 0)
    limited = (
        (pickup >= 0)
        & (net.node_kind[safe] == LOCKER)
        & (net.node_capacity[safe] < NO_LIMIT)
    )
    return np.where(limited, pickup, -1).astype(np.int64)


def parcels_by_locker(
    compiled: CompiledScenario, line_idx: np.ndarray, node_idx: np.ndarray
) -> np.ndarray:
    """int64[n_nodes]: parcels the allocations send to each limited locker (S11).

    One parcel per distinct (order, node) package of an order at a locker; 0 at
    every other node. What ``solvers.sequential.take_units`` takes from a
    locker's entry of the capacity counter.
    """
    n_nodes = compiled.network.n_nodes
    if not np.any(compiled.network.node_kind == LOCKER):  # the common case: cheap
        return np.zeros(n_nodes, dtype=np.int64)
    order = compiled.orders.line_order[line_idx]
    locker = order_lockers(compiled)[order]
    at = locker >= 0
    if not at.any():
        return np.zeros(n_nodes, dtype=np.int64)
    key = np.unique(order[at] * max(n_nodes, 1) + node_idx[at])
    locker_of_key = compiled.orders.order_pickup[key // max(n_nodes, 1)]
    return np.bincount(locker_of_key, minlength=n_nodes).astype(np.int64)
