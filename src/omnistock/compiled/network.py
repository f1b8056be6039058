"""The compiled network: nodes, stock, rules and costs as numpy arrays.

Stock is SKU-major CSR: the rows of SKU ``s`` are
``stock_indptr[s]:stock_indptr[s + 1]``, sorted by node index. On the "large"
sample (2,000 nodes x 50,000 SKUs) a dense node x SKU matrix would take 800 MB per
int64 array while the CSR rows take a few MB (docs/decisions.md). Order x node
distances and eligibility are never materialised for a batch: the kernels compute
them per order from the unit vectors below.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from omnistock._kernels.codes import KIND_CODES, METHOD_CODES
from omnistock._kernels.geo import unit_vectors
from omnistock._kernels.records import NetworkRecord, network_record
from omnistock.compiled.nesting import TierLevels, initial_head, tier_levels
from omnistock.compiled.rates import network_rates
from omnistock.compiled.state import free_units, protected_limit
from omnistock.model.network import NODE_KINDS

if TYPE_CHECKING:
    from omnistock.model.scenario import Scenario

__all__ = [
    "KIND_CODES",
    "METHOD_CODES",
    "NO_LIMIT",
    "CompiledNetwork",
    "compile_network",
    "str_array",
]

# METHOD_CODES (``order_method``; node methods are bit sets ``1 << code``) and
# KIND_CODES (``node_kind``) are written once, in ``_kernels.codes``.
#: Stands for "no limit" in integer limit arrays (capacity, split limit).
NO_LIMIT = np.iinfo(np.int64).max // 4
_NO_BANDS_I = np.empty(0, dtype=np.int64)
_NO_BANDS_F = np.empty(0, dtype=np.float64)


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
    protection : tuple[tuple[str, str, str, int], ...]
        Contract v1.2's table, (node, sku, tier, units); empty for v1.
    stock_head : int64[nnz, n_classes] or None
        The nested headroom the batch starts from (``compiled/nesting.py``);
        None: no take yet, derived from ``stock_free``.
    rated : bool
        Contract v1.1 distance or rate-card costs are in use (``compiled.rates``).
    unit_per_km, unfilled_order : float
        ``costs.unit_per_km`` and ``costs.unfilled_order``.
    band_method, band_max_km, band_package, band_unit, band_per_kg : arrays[n_bands]
        The rate card, one band a row (method -1: none named; max_km inf: none).
    sku_weight : dict[str, float]
        SKU -> weight in kg (``skus``; unlisted SKUs weigh 0).
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
    # Contract v1.1 (compiled/rates.py): the defaults mean "not in use".
    rated: bool = False
    unit_per_km: float = 0.0
    unfilled_order: float = 0.0
    band_method: np.ndarray = dataclasses.field(default_factory=lambda: _NO_BANDS_I)
    band_max_km: np.ndarray = dataclasses.field(default_factory=lambda: _NO_BANDS_F)
    band_package: np.ndarray = dataclasses.field(default_factory=lambda: _NO_BANDS_F)
    band_unit: np.ndarray = dataclasses.field(default_factory=lambda: _NO_BANDS_F)
    band_per_kg: np.ndarray = dataclasses.field(default_factory=lambda: _NO_BANDS_F)
    sku_weight: dict[str, float] = dataclasses.field(default_factory=dict)
    protection: tuple[tuple[str, str, str, int], ...] = ()
    stock_head: np.ndarray | None = None

    @functools.cached_property
    def levels(self) -> TierLevels:
        """Tier classes and ``u`` per row and class (S4 v1.2), built once."""
        return tier_levels(
            self.protection,
            self.exempt_tiers,
            self.node_ids,
            self.node_protect,
            self.sku_ids,
            self.stock_indptr,
            self.stock_node,
        )

    @property
    def stock_level(self) -> np.ndarray:
        """int64[nnz, n_classes]: ``u`` per row and tier class (kernels' record)."""
        return self.levels.level

    @property
    def head(self) -> np.ndarray:
        """int64[nnz, n_classes]: the nested headroom the batch starts from."""
        if self.stock_head is not None:
            return self.stock_head
        return initial_head(self.stock_free, self.levels.level)

    @functools.cached_property
    def record(self) -> NetworkRecord:
        """The kernels' record of this network (``_kernels.records``), built once."""
        return network_record(self)

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
        head: np.ndarray | None = None,
    ) -> CompiledNetwork:
        """The same network with other free / protected-limit / capacity arrays.

        Used to solve part of a batch against what the rest of it left: re-planning
        with frozen orders, and the simulator between events. The arrays are given
        per stock row (``free``, ``limit``, ``head``: the nested headroom of a
        v1.2 scenario, derived from ``free`` when None) and per node (``capacity``).
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
            stock_head=None if head is None or not head.size else head,
        )

    def with_stock_rows(
        self,
        sku_ids: np.ndarray,
        indptr: np.ndarray,
        stock_node: np.ndarray,
        on_hand: np.ndarray,
        reserved: np.ndarray,
        safety: np.ndarray,
    ) -> CompiledNetwork:
        """The same nodes with other stock rows (SKU-major CSR), free and limit derived.

        The free units and protected limits come from the one formula of
        ``compiled/state.py``; a snapshot's rows are read back this way.
        """
        free = free_units(on_hand, reserved, safety)
        return dataclasses.replace(
            self,
            sku_ids=sku_ids,
            sku_index={str(s): i for i, s in enumerate(sku_ids)},
            stock_indptr=indptr,
            stock_node=stock_node,
            stock_on_hand=on_hand,
            stock_reserved=reserved,
            stock_safety=safety,
            stock_free=free,
            stock_limit=protected_limit(free, self.node_protect[stock_node]),
            stock_head=None,
        )

    def stock_row(self, node_idx: int, sku_idx: int) -> int:
        """Position of the (node, SKU) stock row, or -1 when the node has none."""
        lo, hi = self.stock_indptr[sku_idx], self.stock_indptr[sku_idx + 1]
        pos = lo + int(np.searchsorted(self.stock_node[lo:hi], node_idx))
        if pos < hi and self.stock_node[pos] == node_idx:
            return int(pos)
        return -1


def str_array(values: Sequence[str] | pl.Series) -> np.ndarray:
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
    node_ids = str_array([n.id for n in nodes])
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
    sku_ids = str_array(skus)
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
    free = free_units(on_hand, reserved, safety)
    limit = protected_limit(free, node_protect[stock_node])
    if scenario.protection:  # v1.2: the nested heads protect; the scalar limit is
        limit = free.copy()  # only each order's view (compiled/nesting.py)
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
        protection=tuple((e.node, e.sku, e.tier, e.units) for e in scenario.protection),
        **network_rates(scenario),
    )
