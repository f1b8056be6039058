"""S11 lockers: the parcels a pickup order at a locker may still send there.

A locker holds no stock, so its node capacity counter (``state.capacity``),
which S5 would spend on units a node gives, is never spent on units: it counts
the locker's parcels left instead. Every package (order, shipping node) of an
order picked up at a locker is one parcel there, so an order may ship from at
most ``min(split limit, parcels left)`` nodes: the parcel limit is a split
limit (S6) the per-order kernels already decide exactly, and the decision's
packages are then taken from the counter (docs/decisions.md, "Lockers").
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.codes import LOCKER
from omnistock._kernels.records import Request

__all__ = ["count_packages", "locker_of", "parcel_limited"]


@njit(cache=True, nogil=True, inline="always")
def locker_of(node_kind: np.ndarray, pickup: int) -> int:
    """The order's locker (its pickup node when that is a locker), else -1."""
    if pickup >= 0 and node_kind[pickup] == LOCKER:
        return pickup
    return -1


@njit(cache=True, nogil=True, inline="always")
def parcel_limited(request: Any, parcels: int) -> Request:
    """``request`` with its split limit lowered to the locker's ``parcels`` left."""
    return Request(
        request.line_sku,
        request.line_qty,
        request.channel,
        request.method,
        request.pickup,
        request.dest_xyz,
        request.exempt,
        request.penalty,
        min(request.split_limit, max(parcels, 0)),
        request.all_or_nothing,
        request.unit_cost,
        request.line_weight,
        request.charge,
    )


@njit(cache=True, nogil=True)
def count_packages(alloc_node: np.ndarray) -> int:
    """Distinct nodes among one order's allocations: its packages (parcels)."""
    count = 0
    for i in range(alloc_node.shape[0]):
        first = True
        for j in range(i):
            if alloc_node[j] == alloc_node[i]:
                first = False
                break
        if first:
            count += 1
    return count
