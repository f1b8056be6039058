"""New stock rows while a pool runs: a node receives a SKU it never held.

The compiled network keeps its stock rows SKU-major (``stock_indptr`` over the
sorted ``sku_ids``, nodes sorted within a SKU), the order every kernel and the
snapshot reader rely on. :func:`with_row` returns the network with one empty
row inserted where that order puts it (a SKU the network does not know is
inserted among ``sku_ids`` too), and the row's position; the pool then shifts
its per-row counters and its reservations' rows past that position
(:meth:`omnistock.pool.state.PoolState.add_row`). Rows are rare events (a return
to another store, a first receipt), so a copy of the row arrays (about 20 ms
on "large") is the price, and the sourcing hot path is unchanged.
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from omnistock.compiled import CompiledNetwork
from omnistock.compiled.state import StockState

if TYPE_CHECKING:
    from omnistock.pool.reservation import Reservation
    from omnistock.pool.state import PoolState

__all__ = [
    "adopt_rows",
    "extends_rows",
    "grow_state",
    "insert_row",
    "weak_callback",
    "with_row",
]

#: The per-row int64 arrays of a PoolState (besides free and limit).
_ROW_ARRAYS = (
    "on_hand",
    "reserved",
    "held",
    "safety",
    "shipped",
    "received",
    "returned",
    "unsellable",
    "protect",
)


def insert_row(values: np.ndarray, row: int, value: int = 0) -> np.ndarray:
    """``values`` (int64 per stock row) with ``value`` inserted at ``row``."""
    return np.insert(values, row, value).astype(np.int64, copy=False)


def with_row(
    net: CompiledNetwork, node_idx: int, sku: str
) -> tuple[CompiledNetwork, int]:
    """``net`` with an empty stock row of (node ``node_idx``, ``sku``), and its row.

    The caller checked that the row does not exist. The new row holds nothing
    (on_hand, reserved, safety stock, free and limit 0).
    """
    sku_ids, sku_index, indptr = net.sku_ids, net.sku_index, net.stock_indptr
    s = sku_index.get(sku)
    if s is None:
        names = sku_ids.tolist()
        s = bisect.bisect_left(names, sku)
        names.insert(s, sku)
        sku_ids = np.array(names, dtype=np.str_)
        sku_index = {name: i for i, name in enumerate(names)}
        indptr = np.insert(indptr, s, indptr[s])  # an empty range for the new SKU
    lo, hi = int(indptr[s]), int(indptr[s + 1])
    row = lo + int(np.searchsorted(net.stock_node[lo:hi], node_idx))
    indptr = indptr.astype(np.int64, copy=True)
    indptr[s + 1 :] += 1
    grown = replace(
        net,
        sku_ids=sku_ids,
        sku_index=sku_index,
        stock_indptr=indptr,
        stock_node=insert_row(net.stock_node, row, node_idx),
        stock_on_hand=insert_row(net.stock_on_hand, row),
        stock_reserved=insert_row(net.stock_reserved, row),
        stock_safety=insert_row(net.stock_safety, row),
        stock_free=insert_row(net.stock_free, row),
        stock_limit=insert_row(net.stock_limit, row),
    )
    return grown, row


def grow_state(state: PoolState, node_id: str, sku: str) -> int:
    """Add the empty stock row of (node_id, sku) to ``state``; return its position.

    Every per-row array gets the row; rows after it, in the reservations too,
    shift by one; then the ``state.on_grow`` callbacks re-point whoever reads
    the arrays (the pool, its Sourcers). The caller holds the pool's lock.
    """
    node_idx = state.network.node_index[node_id]
    net, row = with_row(state.network, node_idx, sku)
    state.network = net
    for name in _ROW_ARRAYS:
        setattr(state, name, insert_row(getattr(state, name), row))
    state.protect[row] = net.node_protect[node_idx]
    old = state.stock
    state.stock = StockState(
        insert_row(old.free, row),
        insert_row(old.limit, row),
        old.capacity,
        np.insert(old.head, row, 0, axis=0),  # v1.2: an empty row's heads are 0
    )
    state.index_rows()
    moved: dict[int, Reservation] = {}

    def shifted(res: Reservation) -> Reservation:
        if id(res) not in moved:  # one value may be both active and keyed
            rows = tuple(r + 1 if r >= row else r for r in res.rows)
            moved[id(res)] = res._replace(rows=rows)
        return moved[id(res)]

    state.active = {rid: shifted(r) for rid, r in state.active.items()}
    state.keys = {key: shifted(r) for key, r in state.keys.items()}
    for callback in state.on_grow:
        callback()
    return row


#: The CompiledNetwork fields that describe stock rows.
ROW_FIELDS = (
    "sku_ids",
    "sku_index",
    "stock_indptr",
    "stock_node",
    "stock_on_hand",
    "stock_reserved",
    "stock_safety",
    "stock_free",
    "stock_limit",
)


def adopt_rows(net: CompiledNetwork, grown: CompiledNetwork) -> CompiledNetwork:
    """``net`` with the stock rows (and SKUs) of ``grown``, a pool's grown network.

    The pool's protection table (v1.2, ``set_protection``) comes along too.
    """
    fields = (*ROW_FIELDS, "protection")
    return replace(net, **{field: getattr(grown, field) for field in fields})


def _pairs(net: CompiledNetwork) -> set[tuple[str, int]]:
    sku_of = np.repeat(np.arange(net.n_skus), np.diff(net.stock_indptr))
    return set(zip(net.sku_ids[sku_of].tolist(), net.stock_node.tolist(), strict=True))


def extends_rows(grown: CompiledNetwork, net: CompiledNetwork) -> bool:
    """Whether ``grown`` is ``net``'s network with rows added (same nodes, no row lost)."""
    return net.node_ids.tolist() == grown.node_ids.tolist() and _pairs(net) <= _pairs(
        grown
    )


T = TypeVar("T")


def weak_callback(obj: T, method: Callable[[T], None]) -> Callable[[], None]:
    """``method(obj)`` as a callback that does not keep ``obj`` alive."""
    ref = weakref.ref(obj)

    def call() -> None:
        target = ref()
        if target is not None:
            method(target)

    return call
