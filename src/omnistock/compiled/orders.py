"""The compiled batch of orders: orders and their lines in CSR form."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import polars as pl

from omnistock._kernels.codes import METHOD_CODES, PICKUP
from omnistock._kernels.geo import unit_vectors
from omnistock._kernels.records import OrdersRecord, orders_record
from omnistock.compiled.network import NO_LIMIT, CompiledNetwork, str_array
from omnistock.compiled.rates import orders_rates
from omnistock.model.orders import Order

__all__ = ["CompiledOrders", "OrderInputs", "compile_orders", "order_inputs"]


def _empty() -> np.ndarray:
    return np.empty(0, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class CompiledOrders:
    """Orders and their lines as arrays (CSR over lines).

    Attributes
    ----------
    order_ids : str[n_orders]
        Order ids in scenario order; ``order_idx`` is a position here.
    order_channel : int64[n_orders]
        Index into the network's ``channel_ids``; -1 for a channel no node names
        (then only nodes serving every channel are eligible).
    order_method : int64[n_orders]
        ``METHOD_CODES``.
    order_tier : str[n_orders]
    order_exempt : bool[n_orders]
        Tier is in ``rules.exempt_tiers`` (may take protected units).
    order_weight : float64[n_orders]
        ``rules.tier_weights`` of the tier (1.0 when not listed).
    order_xyz : float64[n_orders, 3]
        Destination unit vectors; a pickup order's destination is its pickup node.
    order_pickup : int64[n_orders]
        ``node_idx`` of the pickup node, -1 when not a pickup order.
    order_max_splits : int64[n_orders]
        Effective split limit k (1 when ``ship_complete``; ``NO_LIMIT`` when unset).
    order_all_or_nothing : bool[n_orders]
        ``ship_complete`` or not ``allow_partial``.
    line_indptr : int64[n_orders + 1]
        CSR pointers: lines of order ``o`` are ``line_indptr[o]:line_indptr[o + 1]``.
    line_order : int64[n_lines]
        ``order_idx`` of each line.
    line_sku : int64[n_lines]
        ``sku_idx`` of each line (into the network's ``sku_ids``); -1 when the
        network does not know the SKU (the line is unfillable).
    line_qty : int64[n_lines]
    line_sku_ids : str[n_lines]
        The SKU of each line as given (for frames).
    order_unfilled, order_unfilled_order : float64[n_orders]
        Contract v1.1: the order's unfilled cost per unit and per order, before
        the tier weight (its own or the scenario's; ``compiled.rates``).
    line_weight : float64[n_lines]
        Contract v1.1: the weight in kg of a line's SKU.
    """

    order_ids: np.ndarray
    order_channel: np.ndarray
    order_method: np.ndarray
    order_tier: np.ndarray
    order_exempt: np.ndarray
    order_weight: np.ndarray
    order_xyz: np.ndarray
    order_pickup: np.ndarray
    order_max_splits: np.ndarray
    order_all_or_nothing: np.ndarray
    line_indptr: np.ndarray
    line_order: np.ndarray
    line_sku: np.ndarray
    line_qty: np.ndarray
    line_sku_ids: np.ndarray
    # Contract v1.1 (compiled/rates.py); empty defaults for hand-built batches.
    order_unfilled: np.ndarray = dataclasses.field(default_factory=_empty)
    order_unfilled_order: np.ndarray = dataclasses.field(default_factory=_empty)
    line_weight: np.ndarray = dataclasses.field(default_factory=_empty)

    @functools.cached_property
    def record(self) -> OrdersRecord:
        """The kernels' record of this batch (``_kernels.records``), built once."""
        return orders_record(self)

    @property
    def n_orders(self) -> int:
        """Number of orders."""
        return int(self.order_ids.shape[0])

    @property
    def n_lines(self) -> int:
        """Number of order lines."""
        return int(self.line_qty.shape[0])

    def take(self, order_idx: np.ndarray) -> tuple[CompiledOrders, np.ndarray]:
        """The orders at ``order_idx`` (in that order) and, per new line, its old line.

        Returns
        -------
        orders
            A CompiledOrders of the chosen orders.
        line_map : int64[n_lines of the subset]
            ``line_map[j]`` is the line of ``self`` that line ``j`` of the subset is.
        """
        idx = np.asarray(order_idx, dtype=np.int64)
        starts, stops = self.line_indptr[idx], self.line_indptr[idx + 1]
        counts = stops - starts
        indptr = np.zeros(idx.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        # Line j of the subset is old line starts[o] + (j - indptr[o]) for its order o.
        owner = np.repeat(np.arange(idx.shape[0], dtype=np.int64), counts)
        line_map = starts[owner] + (
            np.arange(indptr[-1], dtype=np.int64) - indptr[owner]
        )
        subset = CompiledOrders(
            order_ids=self.order_ids[idx],
            order_channel=self.order_channel[idx],
            order_method=self.order_method[idx],
            order_tier=self.order_tier[idx],
            order_exempt=self.order_exempt[idx],
            order_weight=self.order_weight[idx],
            order_xyz=self.order_xyz[idx],
            order_pickup=self.order_pickup[idx],
            order_max_splits=self.order_max_splits[idx],
            order_all_or_nothing=self.order_all_or_nothing[idx],
            line_indptr=indptr,
            line_order=owner,
            line_sku=self.line_sku[line_map],
            line_qty=self.line_qty[line_map],
            line_sku_ids=self.line_sku_ids[line_map],
        )
        subset = dataclasses.replace(
            subset,
            order_unfilled=self.order_unfilled[idx],
            order_unfilled_order=self.order_unfilled_order[idx],
            line_weight=self.line_weight[line_map],
        )
        return subset, line_map


class OrderInputs(NamedTuple):
    """One order's rule inputs as the kernels read them: the one derivation.

    ``compile_orders`` (a batch) and the Sourcer (one order on its hot path) both
    call :func:`order_inputs`, so an order means the same to every solver.
    """

    channel: int  # channel index, -1 when no node names it
    method: int  # METHOD_CODES
    pickup: int  # pickup node index for a pickup order, else -1 (-1 also: unknown)
    exempt: bool  # the tier may take protected units (S4)
    weight: float  # tier weight of the unfilled cost (S9)
    split_limit: int  # min(order's own limit, rules.max_splits); NO_LIMIT for none (S6)
    all_or_nothing: bool  # S7


def order_inputs(network: CompiledNetwork, order: Order) -> OrderInputs:
    """The rule inputs of ``order`` on ``network`` (docs/semantics.md S3-S7, S9)."""
    pickup = -1
    if order.method == "pickup" and order.pickup_node is not None:
        pickup = network.node_index.get(order.pickup_node, -1)
    limit = order.split_limit
    return OrderInputs(
        network.channel_index.get(order.channel, -1),
        METHOD_CODES[order.method],
        pickup,
        order.tier in network.exempt_tiers,
        network.tier_weights.get(order.tier, 1.0),
        min(NO_LIMIT if limit is None else limit, network.max_splits),
        order.all_or_nothing,
    )


def compile_orders(network: CompiledNetwork, orders: Sequence[Order]) -> CompiledOrders:
    """Compile a batch of orders against a compiled network.

    SKUs the network does not know get ``line_sku = -1`` (unfillable).
    """
    n = len(orders)
    n_lines_each = np.fromiter((len(o.lines) for o in orders), dtype=np.int64, count=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_lines_each, out=indptr[1:])
    line_order = np.repeat(np.arange(n, dtype=np.int64), n_lines_each)

    line_skus = [line.sku for o in orders for line in o.lines]
    line_qty = np.fromiter(
        (line.qty for o in orders for line in o.lines),
        dtype=np.int64,
        count=len(line_skus),
    )
    sku_frame = pl.DataFrame(
        {
            "sku": network.sku_ids.tolist(),
            "sku_idx": np.arange(network.n_skus, dtype=np.int64),
        },
        schema={"sku": pl.String, "sku_idx": pl.Int64},
    )
    line_sku = (
        pl.DataFrame({"sku": line_skus}, schema={"sku": pl.String})
        .join(sku_frame, on="sku", how="left", maintain_order="left")["sku_idx"]
        .fill_null(-1)
        .to_numpy()
        .astype(np.int64, copy=False)
    )

    inputs = [order_inputs(network, o) for o in orders]

    def column(field: int, dtype: type) -> np.ndarray:
        return np.fromiter((i[field] for i in inputs), dtype=dtype, count=n)

    methods = column(1, np.int64)
    pickup = column(2, np.int64)
    lat = np.fromiter(
        (o.destination.lat if o.destination is not None else np.nan for o in orders),
        dtype=np.float64,
        count=n,
    )
    lon = np.fromiter(
        (o.destination.lon if o.destination is not None else np.nan for o in orders),
        dtype=np.float64,
        count=n,
    )
    xyz = unit_vectors(lat, lon) if n else np.empty((0, 3), dtype=np.float64)
    is_pickup = methods == PICKUP
    # A pickup order's destination is its pickup node.
    xyz[is_pickup] = network.node_xyz[pickup[is_pickup]]
    tiers = str_array([o.tier for o in orders])
    return CompiledOrders(
        order_ids=str_array([o.id for o in orders]),
        order_channel=column(0, np.int64),
        order_method=methods,
        order_tier=tiers,
        order_exempt=column(3, np.bool_),
        order_weight=column(4, np.float64),
        order_xyz=xyz,
        order_pickup=pickup,
        order_max_splits=column(5, np.int64),
        order_all_or_nothing=column(6, np.bool_),
        line_indptr=indptr,
        line_order=line_order,
        line_sku=line_sku,
        line_qty=line_qty,
        line_sku_ids=str_array(line_skus),
        **orders_rates(
            network.unfilled, network.unfilled_order, network.sku_weight, orders
        ),
    )
