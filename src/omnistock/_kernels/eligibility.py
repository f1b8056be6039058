"""Eligibility of a node for an order (docs/semantics.md, S3): the first rule that fails.

Rules are evaluated in :class:`omnistock.rules.Reason` order: channel, method,
maximum distance, same-day radius. The codes below mirror ``Reason``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from omnistock._kernels.geo import km_between

# Mirrors omnistock.rules.Reason (kernels take no enums).
ELIGIBLE, CHANNEL, METHOD, DISTANCE, SAME_DAY_RADIUS, PROTECTION, CAPACITY, NO_STOCK = (
    range(8)
)
# Mirrors omnistock.compiled.METHOD_CODES; node_methods holds 1 << code.
SHIP, PICKUP, SAME_DAY = 0, 1, 2


@njit(cache=True, nogil=True, inline="always")
def serves_channel(
    node_all_channels: np.ndarray,
    node_channel_ok: np.ndarray,
    node_idx: int,
    channel: int,
) -> bool:
    """Whether the node serves the channel (-1: a channel no node names)."""
    if node_all_channels[node_idx]:
        return True
    return channel >= 0 and node_channel_ok[node_idx, channel]


@njit(cache=True, nogil=True, inline="always")
def offers_method(
    node_methods: np.ndarray, node_idx: int, method: int, pickup: int
) -> bool:
    """Whether the node can serve the method; pickup takes the pickup node or any shipper."""
    bits = node_methods[node_idx]
    if method == PICKUP:
        return node_idx == pickup or (bits >> SHIP) & 1 == 1
    return (bits >> method) & 1 == 1


@njit(cache=True, nogil=True, inline="always")
def node_reason(
    node_methods: np.ndarray,  # uint8[n_nodes]
    node_all_channels: np.ndarray,  # bool[n_nodes]
    node_channel_ok: np.ndarray,  # bool[n_nodes, n_channels]
    node_xyz: np.ndarray,  # float64[n_nodes, 3]
    node_idx: int,
    channel: int,
    method: int,
    pickup: int,
    dest_xyz: np.ndarray,  # float64[3]
    max_distance_km: float,
    radius_km: float,
) -> tuple[int, float]:
    """The first failing rule (0: eligible) and the km from node to destination."""
    km = km_between(node_xyz[node_idx], dest_xyz)
    if not serves_channel(node_all_channels, node_channel_ok, node_idx, channel):
        return CHANNEL, km
    if not offers_method(node_methods, node_idx, method, pickup):
        return METHOD, km
    if km > max_distance_km:
        return DISTANCE, km
    if method == SAME_DAY and km > radius_km:
        return SAME_DAY_RADIUS, km
    return ELIGIBLE, km


@njit(cache=True, nogil=True)
def node_reasons(
    node_methods: np.ndarray,
    node_all_channels: np.ndarray,
    node_channel_ok: np.ndarray,
    node_xyz: np.ndarray,
    nodes: np.ndarray,  # int64[m]: the node_idx to evaluate
    channel: int,
    method: int,
    pickup: int,
    dest_xyz: np.ndarray,
    max_distance_km: float,
    radius_km: float,
    out_reason: np.ndarray,  # int8/int64[m], written in place
    out_km: np.ndarray,  # float64[m], written in place
) -> None:
    """Write the first failing rule and the km for each node in ``nodes``."""
    for i in range(nodes.shape[0]):
        r, km = node_reason(
            node_methods,
            node_all_channels,
            node_channel_ok,
            node_xyz,
            nodes[i],
            channel,
            method,
            pickup,
            dest_xyz,
            max_distance_km,
            radius_km,
        )
        out_reason[i] = r
        out_km[i] = km


@njit(cache=True, nogil=True)
def channel_mask(
    node_all_channels: np.ndarray, node_channel_ok: np.ndarray, channel: int
) -> np.ndarray:
    """bool[n_nodes]: the nodes that serve ``channel``."""
    n = node_all_channels.shape[0]
    out = np.empty(n, dtype=np.bool_)
    for i in range(n):
        out[i] = serves_channel(node_all_channels, node_channel_ok, i, channel)
    return out
