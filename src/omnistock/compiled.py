"""The compiled form of a scenario: numpy arrays, the only input solvers read.

A :class:`~omnistock.Scenario` compiles once (``scenario.compiled()``) into a
:class:`CompiledNetwork` (nodes, stock, rules, costs) and :class:`CompiledOrders`
(orders and their lines in CSR form). Stock is SKU-major CSR: the rows of SKU
``s`` are ``stock_indptr[s]:stock_indptr[s + 1]``, sorted by node index. On the
"large" sample (2,000 nodes x 50,000 SKUs) a dense node x SKU matrix would take
800 MB per int64 array while the CSR rows take a few MB (docs/decisions.md).
Order x node distances and eligibility are never materialised for a batch: the
kernels compute them per order from the unit vectors below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from omnistock._kernels.geo import unit_vectors
from omnistock.network import METHODS, NODE_KINDS
from omnistock.orders import Order
from omnistock.scenario import Scenario

__all__ = [
    "KIND_CODES",
    "METHOD_CODES",
    "NO_LIMIT",
    "CompiledNetwork",
    "CompiledOrders",
    "CompiledScenario",
    "compile_network",
    "compile_orders",
    "compile_scenario",
]

#: Order method codes (``order_method``); node methods are bit sets ``1 << code``.
METHOD_CODES: dict[str, int] = {m: i for i, m in enumerate(METHODS)}
SHIP, PICKUP, SAME_DAY = (
    METHOD_CODES["ship"],
    METHOD_CODES["pickup"],
    METHOD_CODES["same_day"],
)
#: Node kind codes (``node_kind``).
KIND_CODES: dict[str, int] = {k: i for i, k in enumerate(NODE_KINDS)}
#: Stands for "no limit" in integer limit arrays (capacity, split limit).
NO_LIMIT = np.iinfo(np.int64).max // 4


@dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """Nodes, stock, rules and costs as arrays.

    Attributes
    ----------
    node_ids : str[n_nodes]
        Node ids in scenario order; ``node_idx`` is a position here.
    node_index : dict[str, int]
        Node id -> ``node_idx``.
    node_kind : int8[n_nodes]
        ``KIND_CODES`` of each node.
    node_methods : uint8[n_nodes]
        Bit set of ``1 << METHOD_CODES[m]`` for the methods each node offers.
    node_lat, node_lon : float64[n_nodes]
        Degrees.
    node_xyz : float64[n_nodes, 3]
        Unit vectors for distances (``_kernels.geo``).
    node_capacity : int64[n_nodes]
        Units each node may give in one plan; ``NO_LIMIT`` when unlimited.
    node_handling, node_unit_cost : float64[n_nodes]
        Per package and per unit costs.
    node_priority : int64[n_nodes]
        Lower is preferred.
    node_protect : int64[n_nodes]
        Units per node-SKU kept from non-exempt tiers (``last_unit_protection``).
    node_all_channels : bool[n_nodes]
        True where the node lists no channels, i.e. serves every channel.
    node_channel_ok : bool[n_nodes, n_channels]
        Whether the node serves channel ``c`` of ``channel_ids``.
    channel_ids : tuple[str, ...]
        Channels named by any node; ``channel_index`` maps them back.
    sku_ids : str[n_skus]
        SKUs of the stock and the orders, sorted; ``sku_index`` maps them back.
    stock_indptr : int64[n_skus + 1]
        CSR pointers of the SKU-major stock rows.
    stock_node : int64[nnz]
        ``node_idx`` of each stock row, ascending within a SKU.
    stock_on_hand, stock_reserved, stock_safety : int64[nnz]
        As given.
    stock_free : int64[nnz]
        ``max(0, on_hand - reserved - safety_stock)``: what all orders may take.
    stock_limit : int64[nnz]
        ``max(0, free - node_protect)``: what non-exempt orders may take together.
    same_day_radius_km, max_distance_km : float
        ``max_distance_km`` is ``inf`` when not set.
    max_splits : int
        ``rules.max_splits`` or ``NO_LIMIT``.
    package, per_km, unfilled : float
        The costs.
    exempt_tiers : frozenset[str]
    tier_weights : dict[str, float]
    """

    node_ids: np.ndarray
    node_index: dict[str, int]
    node_kind: np.ndarray
    node_methods: np.ndarray
    node_lat: np.ndarray
    node_lon: np.ndarray
    node_xyz: np.ndarray
    node_capacity: np.ndarray
    node_handling: np.ndarray
    node_unit_cost: np.ndarray
    node_priority: np.ndarray
    node_protect: np.ndarray
    node_all_channels: np.ndarray
    node_channel_ok: np.ndarray
    channel_ids: tuple[str, ...]
    channel_index: dict[str, int]
    sku_ids: np.ndarray
    sku_index: dict[str, int]
    stock_indptr: np.ndarray
    stock_node: np.ndarray
    stock_on_hand: np.ndarray
    stock_reserved: np.ndarray
    stock_safety: np.ndarray
    stock_free: np.ndarray
    stock_limit: np.ndarray
    same_day_radius_km: float
    max_distance_km: float
    max_splits: int
    package: float
    per_km: float
    unfilled: float
    exempt_tiers: frozenset[str]
    tier_weights: dict[str, float]

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_ids.shape[0])

    @property
    def n_skus(self) -> int:
        """Number of SKUs known to the network."""
        return int(self.sku_ids.shape[0])

    def with_stock(
        self,
        *,
        free: np.ndarray | None = None,
        limit: np.ndarray | None = None,
        capacity: np.ndarray | None = None,
    ) -> CompiledNetwork:
        """The same network with other free / protected-limit / capacity arrays.

        Used to solve part of a batch against what the rest of it left: re-planning
        with frozen orders, and the simulator between events. The arrays are given
        per stock row (``free``, ``limit``) and per node (``capacity``).
        """
        return dataclasses.replace(
            self,
            stock_free=self.stock_free
            if free is None
            else np.asarray(free, dtype=np.int64),
            stock_limit=self.stock_limit
            if limit is None
            else np.asarray(limit, dtype=np.int64),
            node_capacity=self.node_capacity
            if capacity is None
            else np.asarray(capacity, dtype=np.int64),
        )

    def stock_row(self, node_idx: int, sku_idx: int) -> int:
        """Position of the (node, SKU) stock row, or -1 when the node has none."""
        lo, hi = self.stock_indptr[sku_idx], self.stock_indptr[sku_idx + 1]
        pos = lo + int(np.searchsorted(self.stock_node[lo:hi], node_idx))
        if pos < hi and self.stock_node[pos] == node_idx:
            return int(pos)
        return -1


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
        return subset, line_map


@dataclass(frozen=True, eq=False)
class CompiledScenario:
    """A compiled network with a compiled batch of orders."""

    network: CompiledNetwork
    orders: CompiledOrders


def _str_array(values: Sequence[str] | pl.Series) -> np.ndarray:
    """Ids as a numpy unicode array (never an empty-width dtype)."""
    arr = np.asarray(
        list(values) if not isinstance(values, pl.Series) else values.to_list(),
        dtype=np.str_,
    )
    return arr if arr.size else np.empty(0, dtype="<U1")


def compile_network(
    scenario: Scenario, extra_skus: Sequence[str] = ()
) -> CompiledNetwork:
    """Compile nodes, stock, rules and costs; SKUs in ``extra_skus`` are known too."""
    rules = scenario.rules
    nodes = scenario.nodes
    node_ids = _str_array([n.id for n in nodes])
    node_index = {str(n): i for i, n in enumerate(node_ids)}
    channel_ids = tuple(sorted({c for n in nodes for c in n.channels}))
    channel_index = {c: i for i, c in enumerate(channel_ids)}
    n_nodes = len(nodes)

    channel_ok = np.zeros((n_nodes, len(channel_ids)), dtype=np.bool_)
    for i, node in enumerate(nodes):  # one pass over nodes, not a hot path
        for c in node.channels:
            channel_ok[i, channel_index[c]] = True
    node_frame = pl.DataFrame(
        {
            "kind": [KIND_CODES[n.kind] for n in nodes],
            "methods": [
                sum(1 << METHOD_CODES[m] for m in set(n.methods)) for n in nodes
            ],
            "lat": [n.lat for n in nodes],
            "lon": [n.lon for n in nodes],
            "capacity": [NO_LIMIT if n.capacity is None else n.capacity for n in nodes],
            "handling": [n.handling_cost for n in nodes],
            "unit_cost": [n.unit_cost for n in nodes],
            "priority": [n.priority for n in nodes],
            "all_channels": [not n.channels for n in nodes],
        },
        schema={
            "kind": pl.Int8,
            "methods": pl.UInt8,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "capacity": pl.Int64,
            "handling": pl.Float64,
            "unit_cost": pl.Float64,
            "priority": pl.Int64,
            "all_channels": pl.Boolean,
        },
    )
    protect_by_kind = np.array(
        [rules.protection(k) for k in NODE_KINDS], dtype=np.int64
    )
    node_kind = node_frame["kind"].to_numpy()
    node_protect = protect_by_kind[node_kind.astype(np.int64)]

    stock = scenario.stock
    stock_frame = pl.DataFrame(
        {
            "node": [r.node for r in stock],
            "sku": [r.sku for r in stock],
            "on_hand": [r.on_hand for r in stock],
            "reserved": [r.reserved for r in stock],
            "safety": [r.safety_stock for r in stock],
        },
        schema={
            "node": pl.String,
            "sku": pl.String,
            "on_hand": pl.Int64,
            "reserved": pl.Int64,
            "safety": pl.Int64,
        },
    )
    return _network_from_frames(
        scenario,
        node_ids,
        node_index,
        node_frame,
        node_protect,
        channel_ids,
        channel_index,
        channel_ok,
        stock_frame,
        extra_skus,
    )


def _network_from_frames(
    scenario: Scenario,
    node_ids: np.ndarray,
    node_index: dict[str, int],
    node_frame: pl.DataFrame,
    node_protect: np.ndarray,
    channel_ids: tuple[str, ...],
    channel_index: dict[str, int],
    channel_ok: np.ndarray,
    stock_frame: pl.DataFrame,
    extra_skus: Sequence[str],
) -> CompiledNetwork:
    rules, costs = scenario.rules, scenario.costs
    skus = (
        pl.concat(
            [stock_frame["sku"], pl.Series("sku", list(extra_skus), dtype=pl.String)]
        )
        .unique()
        .sort()
    )
    sku_ids = _str_array(skus)
    sku_frame = pl.DataFrame(
        {"sku": skus, "sku_idx": np.arange(len(skus), dtype=np.int64)}
    )
    id_frame = pl.DataFrame(
        {
            "node": node_ids.tolist(),
            "node_idx": np.arange(len(node_ids), dtype=np.int64),
        },
        schema={"node": pl.String, "node_idx": pl.Int64},
    )
    rows = (
        stock_frame.join(id_frame, on="node", how="left")
        .join(sku_frame, on="sku", how="left")
        .sort("sku_idx", "node_idx")
    )
    stock_node = rows["node_idx"].to_numpy().astype(np.int64, copy=False)
    sku_of_row = rows["sku_idx"].to_numpy().astype(np.int64, copy=False)
    counts = np.bincount(sku_of_row, minlength=len(sku_ids)).astype(np.int64)
    indptr = np.zeros(len(sku_ids) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    on_hand = rows["on_hand"].to_numpy().astype(np.int64, copy=False)
    reserved = rows["reserved"].to_numpy().astype(np.int64, copy=False)
    safety = rows["safety"].to_numpy().astype(np.int64, copy=False)
    free = np.maximum(0, on_hand - reserved - safety)
    limit = (
        np.maximum(0, free - node_protect[stock_node])
        if len(stock_node)
        else free.copy()
    )
    lat = node_frame["lat"].to_numpy()
    lon = node_frame["lon"].to_numpy()
    return CompiledNetwork(
        node_ids=node_ids,
        node_index=node_index,
        node_kind=node_frame["kind"].to_numpy(),
        node_methods=node_frame["methods"].to_numpy(),
        node_lat=lat,
        node_lon=lon,
        node_xyz=unit_vectors(lat, lon),
        node_capacity=node_frame["capacity"].to_numpy(),
        node_handling=node_frame["handling"].to_numpy(),
        node_unit_cost=node_frame["unit_cost"].to_numpy(),
        node_priority=node_frame["priority"].to_numpy(),
        node_protect=node_protect,
        node_all_channels=node_frame["all_channels"].to_numpy(),
        node_channel_ok=channel_ok,
        channel_ids=channel_ids,
        channel_index=channel_index,
        sku_ids=sku_ids,
        sku_index={str(s): i for i, s in enumerate(sku_ids)},
        stock_indptr=indptr,
        stock_node=stock_node,
        stock_on_hand=on_hand,
        stock_reserved=reserved,
        stock_safety=safety,
        stock_free=free,
        stock_limit=limit,
        same_day_radius_km=float(rules.same_day_radius_km),
        max_distance_km=float("inf")
        if rules.max_distance_km is None
        else float(rules.max_distance_km),
        max_splits=NO_LIMIT if rules.max_splits is None else int(rules.max_splits),
        package=float(costs.package),
        per_km=float(costs.per_km),
        unfilled=float(costs.unfilled),
        exempt_tiers=frozenset(rules.exempt_tiers),
        tier_weights=dict(rules.tier_weights),
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

    methods = np.fromiter(
        (METHOD_CODES[o.method] for o in orders), dtype=np.int64, count=n
    )
    pickup = np.fromiter(
        (
            -1 if o.pickup_node is None else network.node_index[o.pickup_node]
            for o in orders
        ),
        dtype=np.int64,
        count=n,
    )
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
    tiers = _str_array([o.tier for o in orders])
    splits = np.fromiter(
        (NO_LIMIT if o.split_limit is None else o.split_limit for o in orders),
        dtype=np.int64,
        count=n,
    )
    return CompiledOrders(
        order_ids=_str_array([o.id for o in orders]),
        order_channel=np.fromiter(
            (network.channel_index.get(o.channel, -1) for o in orders),
            dtype=np.int64,
            count=n,
        ),
        order_method=methods,
        order_tier=tiers,
        order_exempt=np.fromiter(
            (o.tier in network.exempt_tiers for o in orders), dtype=np.bool_, count=n
        ),
        order_weight=np.fromiter(
            (network.tier_weights.get(o.tier, 1.0) for o in orders),
            dtype=np.float64,
            count=n,
        ),
        order_xyz=xyz,
        order_pickup=pickup,
        order_max_splits=np.minimum(splits, network.max_splits),
        order_all_or_nothing=np.fromiter(
            (o.all_or_nothing for o in orders), dtype=np.bool_, count=n
        ),
        line_indptr=indptr,
        line_order=line_order,
        line_sku=line_sku,
        line_qty=line_qty,
        line_sku_ids=_str_array(line_skus),
    )


def compile_scenario(scenario: Scenario) -> CompiledScenario:
    """Compile a whole scenario; SKUs ordered but never stocked are known too."""
    order_skus = {line.sku for o in scenario.orders for line in o.lines}
    network = compile_network(scenario, extra_skus=sorted(order_skus))
    return CompiledScenario(
        network=network, orders=compile_orders(network, scenario.orders)
    )
