"""The numba bundles every kernel takes: network, orders, stock state, one request.

A kernel takes a few records instead of long positional lists, so the order of the
arrays is written once, here, by name. Three records are numba *structrefs*
(``numba.experimental.structref``): built once per compiled network, compiled
batch or stock state, then passed by one pointer. A structref holds its arrays
without copying them, so a kernel that lowers ``state.free`` lowers the very
array the Python side (a :class:`~omnistock.compiled.StockState`, a live pool)
reads. One order's :class:`Request` is a NamedTuple: built once per call,
unboxed field by field, and free to build inside a kernel (``decide_batch``).
Measured on ``Sourcer.source`` (docs/decisions.md, "2026-12-01 kernel records").

Every array is normalised to the dtype and layout below, so each kernel compiles
(and caches, ``cache=True``) one specialisation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import njit
from numba.core import types
from numba.experimental import structref
from numba.np.numpy_support import from_dtype

from omnistock._kernels.cost import unfilled_cost_kernel

if TYPE_CHECKING:
    from omnistock.compiled.network import CompiledNetwork
    from omnistock.compiled.orders import CompiledOrders
    from omnistock.compiled.state import StockState

__all__ = [
    "NETWORK_FIELDS",
    "ORDERS_FIELDS",
    "STATE_FIELDS",
    "NetworkRecord",
    "OrdersRecord",
    "Packages",
    "Request",
    "StateRecord",
    "entry_point",
    "make_request",
    "network_record",
    "orders_record",
    "state_record",
]

# (field, dtype, ndim) of each array field; scalars have ndim 0. The record types
# below are built from these tables, and so are the Python-side builders.
NETWORK_FIELDS: tuple[tuple[str, Any, int], ...] = (
    ("node_methods", np.uint8, 1),
    ("node_all_channels", np.bool_, 1),
    ("node_channel_ok", np.bool_, 2),
    ("node_xyz", np.float64, 2),
    ("node_handling", np.float64, 1),
    ("node_unit_cost", np.float64, 1),
    ("node_priority", np.int64, 1),
    ("stock_indptr", np.int64, 1),
    ("stock_node", np.int64, 1),
    ("stock_level", np.int64, 2),  # int64[nnz, n_classes]: S4 v1.2 (0 cols in v1)
    ("max_distance_km", np.float64, 0),
    ("same_day_radius_km", np.float64, 0),
    ("package", np.float64, 0),
    ("per_km", np.float64, 0),
    ("unfilled", np.float64, 0),
    # Contract v1.1 (compiled/rates.py)
    ("rated", np.bool_, 0),
    ("unit_per_km", np.float64, 0),
    ("band_method", np.int64, 1),
    ("band_max_km", np.float64, 1),
    ("band_package", np.float64, 1),
    ("band_unit", np.float64, 1),
    ("band_per_kg", np.float64, 1),
    ("node_kind", np.int8, 1),
)
ORDERS_FIELDS: tuple[tuple[str, Any, int], ...] = (
    ("order_channel", np.int64, 1),
    ("order_method", np.int64, 1),
    ("order_pickup", np.int64, 1),
    ("order_xyz", np.float64, 2),
    ("order_exempt", np.bool_, 1),
    ("order_weight", np.float64, 1),
    ("order_max_splits", np.int64, 1),
    ("order_all_or_nothing", np.bool_, 1),
    ("line_indptr", np.int64, 1),
    ("line_order", np.int64, 1),
    ("line_sku", np.int64, 1),
    ("line_qty", np.int64, 1),
    # Contract v1.1 (compiled/rates.py)
    ("order_unfilled", np.float64, 1),
    ("order_unfilled_order", np.float64, 1),
    ("line_weight", np.float64, 1),
)
STATE_FIELDS: tuple[tuple[str, Any, int], ...] = (
    ("free", np.int64, 1),  # int64[nnz]: units all orders may still take
    ("limit", np.int64, 1),  # int64[nnz]: units non-exempt orders may still take
    ("capacity", np.int64, 1),  # int64[n_nodes]: units each node may still give
    ("head", np.int64, 2),  # int64[nnz, n_classes]: S4 v1.2 headroom (0 cols in v1)
)


def _value(value: Any, dtype: Any, ndim: int) -> Any:
    """``value`` as the record stores it (arrays kept, not copied, when they fit)."""
    if ndim == 0:
        return np.dtype(dtype).type(value).item()
    return np.ascontiguousarray(value, dtype=dtype)


@structref.register
class _NetworkType(types.StructRef):
    pass


@structref.register
class _OrdersType(types.StructRef):
    pass


@structref.register
class _StateType(types.StructRef):
    pass


class NetworkRecord(structref.StructRefProxy):
    """Nodes, stock CSR, rules and costs of a compiled network (``NETWORK_FIELDS``)."""


class OrdersRecord(structref.StructRefProxy):
    """Orders and lines of a compiled batch (``ORDERS_FIELDS``)."""


class StateRecord(structref.StructRefProxy):
    """The stock counters ``free``, ``limit``, ``capacity``, ``head`` (a StockState's)."""


for _proxy, _typeclass in (
    (NetworkRecord, _NetworkType),
    (OrdersRecord, _OrdersType),
    (StateRecord, _StateType),
):
    structref.define_boxing(_typeclass, _proxy)  # type: ignore[no-untyped-call]


def _record_type(typeclass: type, fields: tuple[tuple[str, Any, int], ...]) -> Any:
    return typeclass(
        [
            (
                name,
                from_dtype(np.dtype(dt))
                if nd == 0
                else types.Array(from_dtype(np.dtype(dt)), nd, "C"),
            )
            for name, dt, nd in fields
        ]
    )


NETWORK_TYPE = _record_type(_NetworkType, NETWORK_FIELDS)
ORDERS_TYPE = _record_type(_OrdersType, ORDERS_FIELDS)
STATE_TYPE = _record_type(_StateType, STATE_FIELDS)

# The constructors are kernels of their own, so that they are cached on disk like
# every kernel (define_proxy's constructor compiles again in every process, ~1 s).
# Each assigns the fields in the order of its table; test_records pins them.


@njit(cache=True)
def _new_network(values: tuple[Any, ...]) -> NetworkRecord:
    record: Any = structref.new(NETWORK_TYPE)  # type: ignore[call-arg]
    record.node_methods = values[0]
    record.node_all_channels = values[1]
    record.node_channel_ok = values[2]
    record.node_xyz = values[3]
    record.node_handling = values[4]
    record.node_unit_cost = values[5]
    record.node_priority = values[6]
    record.stock_indptr = values[7]
    record.stock_node = values[8]
    record.stock_level = values[9]
    record.max_distance_km = values[10]
    record.same_day_radius_km = values[11]
    record.package = values[12]
    record.per_km = values[13]
    record.unfilled = values[14]
    record.rated = values[15]
    record.unit_per_km = values[16]
    record.band_method = values[17]
    record.band_max_km = values[18]
    record.band_package = values[19]
    record.band_unit = values[20]
    record.band_per_kg = values[21]
    record.node_kind = values[22]
    return record


@njit(cache=True)
def _new_orders(values: tuple[Any, ...]) -> OrdersRecord:
    record: Any = structref.new(ORDERS_TYPE)  # type: ignore[call-arg]
    record.order_channel = values[0]
    record.order_method = values[1]
    record.order_pickup = values[2]
    record.order_xyz = values[3]
    record.order_exempt = values[4]
    record.order_weight = values[5]
    record.order_max_splits = values[6]
    record.order_all_or_nothing = values[7]
    record.line_indptr = values[8]
    record.line_order = values[9]
    record.line_sku = values[10]
    record.line_qty = values[11]
    record.order_unfilled = values[12]
    record.order_unfilled_order = values[13]
    record.line_weight = values[14]
    return record


@njit(cache=True)
def _new_state(values: tuple[Any, ...]) -> StateRecord:
    record: Any = structref.new(STATE_TYPE)  # type: ignore[call-arg]
    record.free = values[0]
    record.limit = values[1]
    record.capacity = values[2]
    record.head = values[3]
    return record


def _build(new: Any, fields: tuple[tuple[str, Any, int], ...], source: Any) -> Any:
    return new(tuple(_value(getattr(source, name), dt, nd) for name, dt, nd in fields))


def network_record(net: CompiledNetwork) -> NetworkRecord:
    """The network's record (``CompiledNetwork.record`` caches it)."""
    return _build(_new_network, NETWORK_FIELDS, net)


def orders_record(orders: CompiledOrders) -> OrdersRecord:
    """The batch's record (``CompiledOrders.record`` caches it)."""
    return _build(_new_orders, ORDERS_FIELDS, orders)


def state_record(state: StockState) -> StateRecord:
    """A record over the state's own arrays: kernels write them in place."""
    return _build(_new_state, STATE_FIELDS, state)


class Request(NamedTuple):
    """One order as the per-order kernels read it.

    Attributes
    ----------
    line_sku, line_qty : int64[n_lines]
        SKU (-1: unknown to the network) and units of each line.
    channel, method, pickup : int
        Channel index (-1: none named by a node), method code, pickup node (-1).
    dest_xyz : float64[3]
        Unit vector of the destination (the pickup node's for pickup orders).
    exempt : bool
        The tier may take protected units.
    penalty : float
        Cost of one unfilled unit: ``cost.unfilled_cost(unfilled, weight, 1)``.
    split_limit : int
        Most nodes that may ship to the order.
    all_or_nothing : bool
        Every unit or none.
    unit_cost : float64[n_nodes]
        Unit cost of each node for this order: the network's, or raised by the
        look-ahead policy's row prices.
    line_weight : float64[n_lines]
        Contract v1.1: kg of each line's SKU (the rate card's per-kg term).
    charge : float
        Contract v1.1: the cost of leaving any unit unfilled, once per order
        (``cost.unfilled_cost(unfilled_order, weight, 1)``).
    """

    line_sku: np.ndarray
    line_qty: np.ndarray
    channel: int
    method: int
    pickup: int
    dest_xyz: np.ndarray
    exempt: bool
    penalty: float
    split_limit: int
    all_or_nothing: bool
    unit_cost: np.ndarray
    line_weight: np.ndarray
    charge: float


class Packages(NamedTuple):
    """Candidates of a batch grouped in (order, node) packages (the optimal solver's).

    Attributes
    ----------
    line, row, ub, pair : int64[n_cand]
        Line, stock row, upper bound on units and package of each candidate,
        grouped by line.
    pair_order, pair_node : int64[n_pair]
        Order and node of each package.
    pair_cost : float64[n_pair]
        Fixed cost of each package (``cost.package_cost``).
    """

    line: np.ndarray
    row: np.ndarray
    ub: np.ndarray
    pair: np.ndarray
    pair_order: np.ndarray
    pair_node: np.ndarray
    pair_cost: np.ndarray


def entry_point(kernel: Any, *example: Any) -> Any:
    """The compiled function of ``kernel`` for the types of ``example``.

    Calling it skips the dispatcher's typing of every argument: a structref is
    typed in Python, ~0.7 us each, more than the whole flat call it replaces
    (docs/decisions.md). Only for hot paths whose argument types never change
    (records and :class:`Request` built by the functions of this module).
    """
    from numba import typeof

    return kernel.compile(tuple(typeof(a) for a in example))  # type: ignore[no-untyped-call]


@njit(cache=True, nogil=True, inline="always")
def make_request(
    orders: Any, o: int, penalty: float, unit_cost: np.ndarray, plain: bool = False
) -> Request:
    """Order ``o`` of a batch record as a :class:`Request` (inside kernels).

    ``plain``: decide it as a non-exempt order whatever its tier (a v1.2 order
    reads its nested view from the limits, ``_kernels.nested``).
    """
    lo = orders.line_indptr[o]
    hi = orders.line_indptr[o + 1]
    return Request(
        orders.line_sku[lo:hi],
        orders.line_qty[lo:hi],
        orders.order_channel[o],
        orders.order_method[o],
        orders.order_pickup[o],
        orders.order_xyz[o],
        orders.order_exempt[o] and not plain,
        penalty,
        orders.order_max_splits[o],
        orders.order_all_or_nothing[o],
        unit_cost,
        orders.line_weight[lo:hi],
        unfilled_cost_kernel(orders.order_unfilled_order[o], orders.order_weight[o], 1),
    )
