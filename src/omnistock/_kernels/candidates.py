"""Candidate nodes of one order: eligible (S3) with units it may use (S2, S4, S5).

The stock rows of each order line are a sorted run of the SKU-major CSR layout, so
the candidates come from a merge of the order's runs: only nodes that hold one of
the order's SKUs are ever looked at, each once, in scenario node order. A node is a
candidate when it has capacity left, at least one line with usable units
(``protection.usable``) and passes every eligibility rule (``eligibility``: the
channel and method rules first; the distance rules (``distance_reason``) with the km only when the order is
under a distance rule). :func:`node_report` gives every node's verdict for
``explain()`` from the same kernels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.codes import (
    CAPACITY,
    ELIGIBLE,
    NO_STOCK,
    PROTECTION,
    SAME_DAY,
)
from omnistock._kernels.cost import package_cost_kernel
from omnistock._kernels.eligibility import (
    distance_reason,
    node_reason,
    offers_method,
    serves_channel,
)
from omnistock._kernels.geo import EARTH_RADIUS_KM, km_between
from omnistock._kernels.protection import usable
from omnistock._kernels.rates import card_reach


@njit(cache=True, nogil=True, inline="always")
def half_chord(a: np.ndarray, b: np.ndarray) -> float:
    """Half the chord between two unit vectors: ``km = km_from_half(h)``.

    ``geo.km_between`` split in two, so that a search can rank and bound nodes by
    the cheap chord (``km >= 2 R h``) and take the ``asin`` only where it matters.
    """
    dx = a[0] - b[0]
    dy = a[1] - b[1]
    dz = a[2] - b[2]
    return 0.5 * np.sqrt(dx * dx + dy * dy + dz * dz)


@njit(cache=True, nogil=True, inline="always")
def km_from_half(h: float) -> float:
    """Great-circle km from a half chord (the same float as ``geo.km_between``)."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(min(h, 1.0))


@njit(cache=True, nogil=True, inline="always")
def destination_xyz(
    node_xyz: np.ndarray,  # float64[n_nodes, 3]
    pickup: int,
    lat_deg: float,
    lon_deg: float,
) -> np.ndarray:
    """Unit vector of an order's destination; a pickup order goes to its pickup node."""
    if pickup >= 0:
        return node_xyz[pickup].copy()
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    out = np.empty(3, dtype=np.float64)
    out[0] = np.cos(lat) * np.cos(lon)
    out[1] = np.cos(lat) * np.sin(lon)
    out[2] = np.sin(lat)
    return out


@njit(cache=True, nogil=True)
def collect_candidates(
    net: Any,  # records.NetworkRecord
    state: Any,  # records.StateRecord
    request: Any,  # records.Request
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The order's candidate nodes, in scenario node order.

    Returns
    -------
    cand_node : int64[m]
        ``node_idx`` of each candidate.
    cand_half : float64[m]
        Half chord from the candidate to the destination (``km_from_half``):
        ranks nodes by distance; the km itself is taken only where needed.
    cand_use : int64[m, n_lines]
        Units of each line the order may take there (protection applied,
        capacity not).
    cand_row : int64[m, n_lines]
        Stock row of each (candidate, line), -1 when the node has none.
    """
    node_methods = net.node_methods
    node_all_channels = net.node_all_channels
    node_channel_ok = net.node_channel_ok
    node_xyz = net.node_xyz
    stock_indptr = net.stock_indptr
    stock_node = net.stock_node
    free_left = state.free
    limit_left = state.limit
    cap_left = state.capacity
    line_sku = request.line_sku
    channel = request.channel
    method = request.method
    pickup = request.pickup
    dest_xyz = request.dest_xyz
    exempt = request.exempt
    n_lines = line_sku.shape[0]
    pos = np.empty(n_lines, dtype=np.int64)
    end = np.empty(n_lines, dtype=np.int64)
    total = 0
    for li in range(n_lines):
        s = line_sku[li]
        if s < 0:
            pos[li] = 0
            end[li] = 0
        else:
            pos[li] = stock_indptr[s]
            end[li] = stock_indptr[s + 1]
        total += end[li] - pos[li]
    # At most one candidate per node: keeps the buffers small on large networks.
    size = min(total, node_xyz.shape[0])
    cand_node = np.empty(size, dtype=np.int64)
    cand_half = np.empty(size, dtype=np.float64)
    # Only the distance rules need the km of every node; otherwise the cheap
    # channel and method rules decide eligibility and the km waits.
    max_distance_km = net.max_distance_km
    radius_km = net.same_day_radius_km
    need_km = max_distance_km < np.inf or method == SAME_DAY
    # v1.1: the rate card's reach for the order's method (inf: nothing to check)
    reach = card_reach(net, method) if net.band_method.shape[0] > 0 else np.inf
    cand_use = np.empty((size, n_lines), dtype=np.int64)
    cand_row = np.empty((size, n_lines), dtype=np.int64)
    big = np.iinfo(np.int64).max
    m = 0
    while True:
        node = big
        for li in range(n_lines):
            if pos[li] < end[li] and stock_node[pos[li]] < node:
                node = stock_node[pos[li]]
        if node == big:
            break
        any_use = False
        for li in range(n_lines):
            if pos[li] < end[li] and stock_node[pos[li]] == node:
                row = pos[li]
                pos[li] += 1
                cand_row[m, li] = row
                u = usable(free_left, limit_left, row, exempt)
                cand_use[m, li] = u
                if u > 0:
                    any_use = True
            else:
                cand_row[m, li] = -1
                cand_use[m, li] = 0
        if not any_use or cap_left[node] <= 0:
            continue
        # The cheap rules first: most rejected nodes then need no distance.
        if not serves_channel(node_all_channels, node_channel_ok, node, channel):
            continue
        if not offers_method(node_methods, node, method, pickup):
            continue
        if need_km:
            # Channel and method passed above: the distance rules decide.
            km = km_between(node_xyz[node], dest_xyz)
            if distance_reason(km, method, max_distance_km, radius_km) != ELIGIBLE:
                continue
        if reach < np.inf and km_between(node_xyz[node], dest_xyz) > reach:
            continue  # v1.1 rule "rate_card", after the v1 rules
        cand_node[m] = node
        cand_half[m] = half_chord(node_xyz[node], dest_xyz)
        m += 1
    return cand_node[:m], cand_half[:m], cand_use[:m], cand_row[:m]


@njit(cache=True, nogil=True)
def node_report(
    net: Any,  # records.NetworkRecord
    request: Any,  # records.Request
    free_rows: np.ndarray,  # int64[t]: free units of the order's rows, line by line
    limit_rows: np.ndarray,  # int64[t]: protected limits of the same rows
    cap_left: np.ndarray,  # int64[n_nodes]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every node's verdict for one order (the rows of ``explain()``).

    ``free_rows`` and ``limit_rows`` hold the counters of the order's stock rows in
    the order of ``sourcing.snapshot_rows`` (each line's SKU run in turn).

    Returns
    -------
    reason : int64[n_nodes]
        0 (eligible) or the first ``Reason`` that rejects the node: the S3 rules in
        order, then protection (free units of an order line, none usable by this
        tier), capacity (none left), no stock (no usable unit of any line).
    km : float64[n_nodes]
    use : int64[n_nodes, n_lines]
        Units of each line this order may take there (protection applied).
    package_cost : float64[n_nodes]
        package + handling + per_km x km.
    """
    n = net.node_xyz.shape[0]
    line_sku = request.line_sku
    exempt = request.exempt
    stock_indptr = net.stock_indptr
    stock_node = net.stock_node
    n_lines = line_sku.shape[0]
    reason = np.empty(n, dtype=np.int64)
    km = np.empty(n, dtype=np.float64)
    pkg = np.empty(n, dtype=np.float64)
    for i in range(n):
        r, d = node_reason(
            net, i, request.channel, request.method, request.pickup, request.dest_xyz
        )
        reason[i] = r
        km[i] = d
        pkg[i] = package_cost_kernel(net.package, net.node_handling[i], net.per_km, d)
    use = np.zeros((n, n_lines), dtype=np.int64)
    has_free = np.zeros(n, dtype=np.bool_)
    p = 0
    for li in range(n_lines):
        s = line_sku[li]
        if s < 0:
            continue
        for row in range(stock_indptr[s], stock_indptr[s + 1]):
            node = stock_node[row]
            use[node, li] = usable(free_rows, limit_rows, p, exempt)
            if free_rows[p] > 0:
                has_free[node] = True
            p += 1
    for i in range(n):
        if reason[i] != ELIGIBLE:
            continue
        total = 0
        for li in range(n_lines):
            total += use[i, li]
        if total == 0 and has_free[i]:
            reason[i] = PROTECTION
        elif cap_left[i] <= 0:
            reason[i] = CAPACITY
        elif total == 0:
            reason[i] = NO_STOCK
    return reason, km, use, pkg


__all__ = [
    "collect_candidates",
    "destination_xyz",
    "half_chord",
    "km_from_half",
    "node_report",
]
