"""Availability views of the live pool: what may be promised, per node-SKU or per SKU.

Vectorised over the SKU-major stock rows of the compiled network; the channel
rule comes from ``_kernels.eligibility.channel_mask`` and the tier rule from
``_kernels.protection.usable_rows``, the same kernels the solvers and the Sourcer
read. No Python loop runs per row or per SKU.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from omnistock._kernels.eligibility import channel_mask
from omnistock._kernels.protection import usable_rows
from omnistock.compiled import CompiledNetwork
from omnistock.compiled.state import protected_limit
from omnistock.exceptions import InvalidRequest

if TYPE_CHECKING:
    import threading

    from omnistock.pool.state import PoolState

__all__ = [
    "StockArrays",
    "availability_frame",
    "pool_availability",
    "select_rows",
    "stock_frame",
]

View = Literal["sku", "node"]


@dataclass(frozen=True)
class StockArrays:
    """A consistent copy of the pool's per-row counters, all int64[m].

    ``rows`` are the stock rows they describe (positions in the compiled
    network's stock arrays).
    """

    rows: np.ndarray
    on_hand: np.ndarray
    reserved: np.ndarray
    safety: np.ndarray
    free_left: np.ndarray
    limit_left: np.ndarray


def select_rows(
    network: CompiledNetwork, skus: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """The stock rows of ``skus`` (all rows when None) and the CSR pointers over them.

    Returns ``(rows, indptr)``: the rows of the i-th requested SKU are
    ``rows[indptr[i]:indptr[i + 1]]``; a SKU the network does not know has none.
    """
    if skus is None:
        return np.arange(
            network.stock_node.shape[0], dtype=np.int64
        ), network.stock_indptr
    index = network.sku_index
    sku_idx = np.fromiter(
        (index.get(s, -1) for s in skus), dtype=np.int64, count=len(skus)
    )
    known = sku_idx >= 0
    starts = np.where(known, network.stock_indptr[np.maximum(sku_idx, 0)], 0)
    counts = np.where(
        known, network.stock_indptr[np.maximum(sku_idx, 0) + 1] - starts, 0
    )
    indptr = np.zeros(len(skus) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    # rows = concatenation of range(starts[i], starts[i] + counts[i]).
    rows = np.arange(indptr[-1], dtype=np.int64) + np.repeat(
        starts - indptr[:-1], counts
    )
    return rows, indptr


_NAMES: weakref.WeakKeyDictionary[CompiledNetwork, tuple[pl.Series, pl.Series]] = (
    weakref.WeakKeyDictionary()
)


def _names(network: CompiledNetwork) -> tuple[pl.Series, pl.Series]:
    """Node ids and SKUs as polars Series, built once per network."""
    names = _NAMES.get(network)
    if names is None:
        names = (
            pl.Series("node_id", network.node_ids.tolist(), dtype=pl.String),
            pl.Series("sku", network.sku_ids.tolist(), dtype=pl.String),
        )
        _NAMES[network] = names
    return names


def stock_frame(
    network: CompiledNetwork, columns: dict[str, np.ndarray]
) -> pl.DataFrame:
    """node_id, sku and then ``columns`` (int64[nnz] each) for every stock row."""
    node_names, sku_names = _names(network)
    sku_of = np.repeat(
        np.arange(network.n_skus, dtype=np.int64), np.diff(network.stock_indptr)
    )
    return pl.DataFrame(
        {
            "node_id": node_names.gather(network.stock_node),
            "sku": sku_names.gather(sku_of),
            **columns,
        }
    )


def _segment_sums(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    csum = np.zeros(values.shape[0] + 1, dtype=np.int64)
    np.cumsum(values, out=csum[1:])
    sums: np.ndarray = csum[indptr[1:]] - csum[indptr[:-1]]
    return sums


def availability_frame(
    network: CompiledNetwork,
    stock: StockArrays,
    indptr: np.ndarray,
    *,
    channel: str | None,
    tier: str | None,
    sku_ids: pl.Series,
    by: View,
) -> pl.DataFrame:
    """The availability view of ``stock`` (see :meth:`omnistock.StockPool.availability`)."""
    if by not in ("sku", "node"):
        msg = f"by must be one of sku, node. Got {by!r}."
        raise InvalidRequest(msg)
    exempt = tier is None or tier in network.exempt_tiers
    local = np.arange(stock.rows.shape[0], dtype=np.int64)
    available = usable_rows(stock.free_left, stock.limit_left, local, exempt)
    levels = network.levels
    if tier is not None and levels.nested:  # v1.2: max(0, free - u_tier) per row
        u = network.stock_level[stock.rows, levels.tier_class(tier)]
        available = protected_limit(stock.free_left, u)
    nodes = network.stock_node[stock.rows]
    if channel is None:
        serves = np.ones(stock.rows.shape[0], dtype=np.bool_)
    else:
        code = network.channel_index.get(channel, -1)
        serves = channel_mask(network.node_all_channels, network.node_channel_ok, code)[
            nodes
        ]
    if by == "node":
        keep = np.flatnonzero(serves)
        sku_of = np.repeat(
            np.arange(indptr.shape[0] - 1, dtype=np.int64), np.diff(indptr)
        )
        node_names = _names(network)[0]
        return pl.DataFrame(
            {
                "node_id": node_names.gather(nodes[keep]),
                "sku": sku_ids.gather(sku_of[keep]),
                "on_hand": stock.on_hand[keep],
                "reserved": stock.reserved[keep],
                "safety_stock": stock.safety[keep],
                "free": stock.free_left[keep],
                "available": available[keep],
            }
        )
    zero = np.zeros(1, dtype=np.int64)
    available = np.where(serves, available, zero)
    return pl.DataFrame(
        {
            "sku": sku_ids,
            "on_hand": _segment_sums(np.where(serves, stock.on_hand, zero), indptr),
            "reserved": _segment_sums(np.where(serves, stock.reserved, zero), indptr),
            "free": _segment_sums(np.where(serves, stock.free_left, zero), indptr),
            "available": _segment_sums(available, indptr),
            "nodes": _segment_sums((available > 0).astype(np.int64), indptr),
        }
    )


def pool_availability(
    state: PoolState,
    lock: threading.RLock,
    *,
    channel: str | None,
    tier: str | None,
    skus: Iterable[str] | None,
    by: View,
) -> pl.DataFrame:
    """:meth:`omnistock.StockPool.availability`: copy the counters, then build the view.

    The network is read under the lock too: a return may add a stock row.
    """
    wanted = None if skus is None else list(skus)

    def pick(a: np.ndarray) -> np.ndarray:
        return a.copy() if wanted is None else a[rows]

    with lock:  # copy under the lock, compute outside it
        net = state.network
        rows, indptr = select_rows(net, wanted)
        stock = StockArrays(
            rows=rows,
            on_hand=pick(state.on_hand),
            reserved=pick(state.reserved),
            safety=pick(state.safety),
            free_left=pick(state.stock.free),
            limit_left=pick(state.stock.limit),
        )
    if wanted is None:
        sku_ids = _names(net)[1]
    else:
        sku_ids = pl.Series("sku", wanted, dtype=pl.String)
    return availability_frame(
        net, stock, indptr, channel=channel, tier=tier, sku_ids=sku_ids, by=by
    )
