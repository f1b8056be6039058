"""Contract v1.1 costs (docs/semantics.md, S10): rate-card bands, per-line unit cost.

The one reading of the rate card every kernel shares: :func:`band_of` (which band
prices an (order, node) at ``km``, or none covers it: rule "rate_card"),
:func:`rated_package` (an (order, node) package's v1.1 extra) and
:func:`line_unit_extra` (what a unit of one line costs at a node beyond the
node's ``unit_cost``). :func:`rated_components` prices a plan's three new
components per order; the five v1 components stay ``cost.order_cost_components``'.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.cost import unfilled_cost_kernel
from omnistock._kernels.geo import km_between

__all__ = [
    "NO_BAND",
    "NOT_COVERED",
    "band_of",
    "card_reach",
    "line_unit_extra",
    "node_rates",
    "pair_extras",
    "rated_components",
    "rated_package",
]

#: :func:`band_of`: the order's method has no rate-card term.
NO_BAND = -2
#: :func:`band_of`: bands apply but none covers the distance (ineligible).
NOT_COVERED = -1


@njit(cache=True, nogil=True)
def band_of(net: Any, method: int, km: float) -> int:
    """The band pricing an order of ``method`` from a node ``km`` away.

    The bands naming ``method`` if any does, else those naming none; the one
    with the smallest ``max_km >= km`` (``max_km`` as ``max_distance_km`` is
    compared). :data:`NO_BAND` when the used set is empty, :data:`NOT_COVERED`
    when no used band reaches ``km``.
    """
    band_method = net.band_method
    band_max_km = net.band_max_km
    n = band_method.shape[0]
    named = False
    for b in range(n):
        if band_method[b] == method:
            named = True
            break
    want = method if named else -1
    best = NO_BAND
    for b in range(n):
        if band_method[b] != want:
            continue
        if best == NO_BAND:
            best = NOT_COVERED
        if km <= band_max_km[b] and (best < 0 or band_max_km[b] < band_max_km[best]):
            best = b
    return best


@njit(cache=True, nogil=True)
def card_reach(net: Any, method: int) -> float:
    """The farthest km a band of ``method`` reaches (inf: no band applies, or one is unbounded).

    ``band_of(net, method, km) == NOT_COVERED`` exactly when ``km`` is beyond it,
    so the candidates need no km when it is ``inf``.
    """
    band_method = net.band_method
    named = False
    for b in range(band_method.shape[0]):
        if band_method[b] == method:
            named = True
            break
    want = method if named else -1
    reach = -1.0
    for b in range(band_method.shape[0]):
        if band_method[b] == want:
            reach = max(reach, net.band_max_km[b])
    return np.inf if reach < 0.0 else reach


@njit(cache=True, nogil=True, inline="always")
def rated_package(net: Any, band: int) -> float:
    """The v1.1 extra of one (order, node) package: the band's ``package``."""
    return net.band_package[band] if band >= 0 else 0.0


@njit(cache=True, nogil=True, inline="always")
def line_unit_extra(
    net: Any, band: int, km: float, weight: float
) -> tuple[float, float]:
    """One unit's v1.1 extra at a node ``km`` away: (unit_distance, rate_card).

    ``unit_per_km x km`` and ``band.unit + band.per_kg x weight`` (0 without a band).
    """
    card = 0.0
    if band >= 0:
        card = net.band_unit[band] + net.band_per_kg[band] * weight
    return net.unit_per_km * km, card


@njit(cache=True, nogil=True)
def rated_components(
    net: Any,  # records.NetworkRecord
    orders: Any,  # records.OrdersRecord
    alloc_line: np.ndarray,  # int64[k]
    alloc_node: np.ndarray,  # int64[k]
    alloc_qty: np.ndarray,  # int64[k]
) -> np.ndarray:
    """float64[n_orders, 3]: each order's unit_distance, rate_card, unfilled_order cost.

    Duplicate (line, node) triples are fine; a package is counted once per
    (order, node).
    """
    line_order = orders.line_order
    n_orders = orders.order_xyz.shape[0]
    n_nodes = net.node_xyz.shape[0]
    out = np.zeros((n_orders, 3), dtype=np.float64)
    filled = np.zeros(orders.line_qty.shape[0], dtype=np.int64)
    keys = np.empty(alloc_line.shape[0], dtype=np.int64)
    for i in range(alloc_line.shape[0]):
        line = alloc_line[i]
        o = line_order[line]
        n = alloc_node[i]
        filled[line] += alloc_qty[i]
        km = km_between(net.node_xyz[n], orders.order_xyz[o])
        band = band_of(net, orders.order_method[o], km)
        dist, card = line_unit_extra(net, band, km, orders.line_weight[line])
        out[o, 0] += alloc_qty[i] * dist
        out[o, 1] += alloc_qty[i] * card
        keys[i] = o * n_nodes + n
    keys = np.unique(keys)
    for p in range(keys.shape[0]):
        o = keys[p] // n_nodes
        n = keys[p] % n_nodes
        km = km_between(net.node_xyz[n], orders.order_xyz[o])
        out[o, 1] += rated_package(net, band_of(net, orders.order_method[o], km))
    short = np.zeros(n_orders, dtype=np.bool_)
    for line in range(filled.shape[0]):
        if filled[line] < orders.line_qty[line]:
            short[line_order[line]] = True
    for o in range(n_orders):
        if short[o]:
            out[o, 2] = unfilled_cost_kernel(
                orders.order_unfilled_order[o], orders.order_weight[o], 1
            )
    return out


@njit(cache=True, nogil=True)
def pair_extras(
    net: Any,  # records.NetworkRecord
    orders: Any,  # records.OrdersRecord
    line: np.ndarray,  # int64[k]: the line of each (line, node) pair
    node: np.ndarray,  # int64[k]
) -> tuple[np.ndarray, np.ndarray]:
    """Per (line, node): one unit's v1.1 extra and its package's (for batch models).

    Returns ``unit`` (``unit_distance + rate_card`` of one unit of the line) and
    ``package`` (the band's package of the line's order at the node).
    """
    unit = np.empty(line.shape[0], dtype=np.float64)
    package = np.empty(line.shape[0], dtype=np.float64)
    for i in range(line.shape[0]):
        o = orders.line_order[line[i]]
        km = km_between(net.node_xyz[node[i]], orders.order_xyz[o])
        band = band_of(net, orders.order_method[o], km)
        dist, card = line_unit_extra(net, band, km, orders.line_weight[line[i]])
        unit[i] = dist + card
        package[i] = rated_package(net, band)
    return unit, package


@njit(cache=True, nogil=True)
def node_rates(
    net: Any,  # records.NetworkRecord
    request: Any,  # records.Request
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every node's band, band package and unit cost per line for one order (explain).

    Returns ``band`` int64[n_nodes] (``band_of``), ``package`` float64[n_nodes]
    and ``unit`` float64[n_nodes, n_lines]: the node's ``unit_cost`` plus the
    line's v1.1 extra (``line_unit_extra``).
    """
    n = net.node_xyz.shape[0]
    n_lines = request.line_qty.shape[0]
    bands = np.empty(n, dtype=np.int64)
    package = np.empty(n, dtype=np.float64)
    unit = np.empty((n, n_lines), dtype=np.float64)
    for i in range(n):
        km = km_between(net.node_xyz[i], request.dest_xyz)
        band = band_of(net, request.method, km)
        bands[i] = band
        package[i] = rated_package(net, band)
        for li in range(n_lines):
            dist, card = line_unit_extra(net, band, km, request.line_weight[li])
            unit[i, li] = request.unit_cost[i] + dist + card
    return bands, package, unit
