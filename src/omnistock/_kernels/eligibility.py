"""Eligibility of a node for an order (docs/semantics.md, S3): the first rule that fails.

Rules are evaluated in :class:`omnistock.rules.Reason` order: channel, method,
maximum distance, same-day radius, then contract v1.1's rate card (S10: no band
of the order's method covers the distance). The codes are ``codes``' (they mirror ``Reason``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.codes import (
    CHANNEL,
    DISTANCE,
    ELIGIBLE,
    METHOD,
    PICKUP,
    RATE_CARD,
    SAME_DAY,
    SAME_DAY_RADIUS,
    SHIP,
)
from omnistock._kernels.geo import km_between
from omnistock._kernels.rates import NOT_COVERED, band_of


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
    net: Any,  # records.NetworkRecord
    node_idx: int,
    channel: int,
    method: int,
    pickup: int,
    dest_xyz: np.ndarray,  # float64[3]
) -> tuple[int, float]:
    """The first failing rule (0: eligible) and the km from node to destination."""
    km = km_between(net.node_xyz[node_idx], dest_xyz)
    if not serves_channel(
        net.node_all_channels, net.node_channel_ok, node_idx, channel
    ):
        return CHANNEL, km
    if not offers_method(net.node_methods, node_idx, method, pickup):
        return METHOD, km
    reason = distance_reason(km, method, net.max_distance_km, net.same_day_radius_km)
    if reason == ELIGIBLE and band_of(net, method, km) == NOT_COVERED:
        reason = RATE_CARD  # contract v1.1, checked after the v1 rules
    return reason, km


@njit(cache=True, nogil=True, inline="always")
def distance_reason(
    km: float, method: int, max_distance_km: float, radius_km: float
) -> int:
    """The distance rules of S3 alone: maximum distance, then the same-day radius."""
    if km > max_distance_km:
        return DISTANCE
    if method == SAME_DAY and km > radius_km:
        return SAME_DAY_RADIUS
    return ELIGIBLE


@njit(cache=True, nogil=True)
def node_reasons(
    net: Any,  # records.NetworkRecord
    nodes: np.ndarray,  # int64[m]: the node_idx to evaluate
    request: Any,  # records.Request: channel, method, pickup, dest_xyz
) -> tuple[np.ndarray, np.ndarray]:
    """int64[m] first failing rule and float64[m] km of each node in ``nodes``."""
    out_reason = np.empty(nodes.shape[0], dtype=np.int64)
    out_km = np.empty(nodes.shape[0], dtype=np.float64)
    for i in range(nodes.shape[0]):
        r, km = node_reason(
            net,
            nodes[i],
            request.channel,
            request.method,
            request.pickup,
            request.dest_xyz,
        )
        out_reason[i] = r
        out_km[i] = km
    return out_reason, out_km


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
