"""Moving between a Plan's frames and allocation triples over compiled indices.

Re-planning and the simulator read plans back into arrays; this is the one place
that maps ``(order_id, sku, node_id)`` to ``(line_idx, node_idx)`` and a
``(line, node)`` pair to its stock row.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from omnistock._kernels.cost import order_cost_components
from omnistock._kernels.rates import rated_components
from omnistock.compiled import CompiledNetwork, CompiledScenario
from omnistock.compiled.rates import rated_batch
from omnistock.exceptions import OmnistockError

__all__ = [
    "Triples",
    "allocation_triples",
    "concat_triples",
    "order_costs",
    "price_orders",
    "stock_rows",
    "usage",
]

#: Allocation triples ``(line_idx, node_idx, qty)``, int64 arrays of one length.
Triples = tuple[np.ndarray, np.ndarray, np.ndarray]


def allocation_triples(
    compiled: CompiledScenario, allocations: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(line_idx, node_idx, qty)`` int64 arrays of a plan's allocation frame.

    Raises
    ------
    OmnistockError
        When a row names an order line or node the scenario does not have.
    """
    net, orders = compiled.network, compiled.orders
    lines = pl.DataFrame(
        {
            "order_id": orders.order_ids[orders.line_order].tolist(),
            "sku": orders.line_sku_ids.tolist(),
            "line_idx": np.arange(orders.n_lines, dtype=np.int64),
        },
        schema={"order_id": pl.String, "sku": pl.String, "line_idx": pl.Int64},
    )
    nodes = pl.DataFrame(
        {
            "node_id": net.node_ids.tolist(),
            "node_idx": np.arange(net.n_nodes, dtype=np.int64),
        },
        schema={"node_id": pl.String, "node_idx": pl.Int64},
    )
    joined = allocations.join(lines, on=["order_id", "sku"], how="left").join(
        nodes, on="node_id", how="left"
    )
    bad = joined.filter(pl.col("line_idx").is_null() | pl.col("node_idx").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        msg = (
            f"allocation (order {row['order_id']!r}, sku {row['sku']!r}, node "
            f"{row['node_id']!r}) names no line or node of the scenario."
        )
        raise OmnistockError(msg)
    return (
        joined["line_idx"].to_numpy().astype(np.int64),
        joined["node_idx"].to_numpy().astype(np.int64),
        joined["qty"].to_numpy().astype(np.int64),
    )


def stock_rows(
    net: CompiledNetwork, sku_idx: np.ndarray, node_idx: np.ndarray
) -> np.ndarray:
    """Stock row of each (SKU, node) pair, -1 where the node holds no row for it."""
    n = max(net.n_nodes, 1)
    row_sku = np.repeat(
        np.arange(net.n_skus, dtype=np.int64), np.diff(net.stock_indptr)
    )
    keys = row_sku * n + net.stock_node  # ascending: SKU-major, nodes sorted
    want = np.asarray(sku_idx, dtype=np.int64) * n + np.asarray(
        node_idx, dtype=np.int64
    )
    pos = np.searchsorted(keys, want)
    pos_ok = np.minimum(pos, max(keys.shape[0] - 1, 0))
    found = (pos < keys.shape[0]) & (keys[pos_ok] == want) & (np.asarray(sku_idx) >= 0)
    return np.where(found, pos, -1)


def usage(
    compiled: CompiledScenario,
    line_idx: np.ndarray,
    node_idx: np.ndarray,
    qty: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Units the triples take: per stock row (all tiers, non-exempt tiers) and per node.

    Returns ``(row_all int64[nnz], row_protected int64[nnz], node_units int64[n_nodes])``.
    """
    net, orders = compiled.network, compiled.orders
    nnz = net.stock_node.shape[0]
    rows = stock_rows(net, orders.line_sku[line_idx], node_idx)
    if np.any(rows < 0):
        msg = "allocation takes from a node that holds no stock row for its SKU."
        raise OmnistockError(msg)
    exempt = orders.order_exempt[orders.line_order[line_idx]]
    row_all = np.bincount(rows, weights=qty, minlength=nnz).astype(np.int64)
    row_protected = np.bincount(
        rows[~exempt], weights=qty[~exempt], minlength=nnz
    ).astype(np.int64)
    node_units = np.bincount(node_idx, weights=qty, minlength=net.n_nodes).astype(
        np.int64
    )
    return row_all, row_protected, node_units


def price_orders(
    compiled: CompiledScenario, triples: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``order_cost_components`` of the triples on this compiled scenario.

    Returns ``(components float64[n_orders, 5], unfilled_qty, pair_order, pair_node)``.
    """
    net, orders = compiled.network, compiled.orders
    line, node, qty = triples
    return order_cost_components(
        net.record,
        orders.record,
        np.asarray(line, dtype=np.int64),
        np.asarray(node, dtype=np.int64),
        np.asarray(qty, dtype=np.int64),
    )


def order_costs(compiled: CompiledScenario, triples: Triples) -> np.ndarray:
    """float64[n_orders]: each order's part of the objective under these triples."""
    cost = np.asarray(price_orders(compiled, triples)[0].sum(axis=1))
    net, orders = compiled.network, compiled.orders
    if rated_batch(net, orders):  # contract v1.1: the three more components
        line, node, qty = (np.asarray(a, dtype=np.int64) for a in triples)
        cost = cost + rated_components(net.record, orders.record, line, node, qty).sum(
            axis=1
        )
    return cost


def concat_triples(parts: list[Triples]) -> Triples:
    """The triples of several parts, one after the other (empty for no parts)."""
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )
