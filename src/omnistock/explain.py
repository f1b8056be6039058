"""Why each node was or was not used for an order (docs/explain.md).

One row per node, in scenario node order:

``node_id``
    The node.
``reason``
    ``"eligible"`` or the first rule that rejects the node, in
    :class:`omnistock.Reason` order: ``channel``, ``method``, ``distance``,
    ``same_day_radius`` (docs/semantics.md, S3), then ``protection`` (the node has
    free units of an order line but none this tier may take), ``capacity`` (none
    left) and ``no_stock`` (no usable unit of any order line); for a pickup order
    at a locker (S11) the locker's own row reads ``pickup_locker`` and, when it has no
    parcel left, the eligible nodes read ``locker_full``.
``km``
    Distance from the node to the order's destination.
``usable``
    List of the units of each order line (in the order's line order) the order may
    take there: free units left, protection applied, capacity not.
``package_cost``
    package + handling + per_km x km: the fixed cost of one package from there.
``qty``
    Units the node gives to the order in the decision or plan (0 if none).
``chosen``
    Whether the node gives the order anything.

Contract v1.1 (an order under a rate card, a per-unit distance cost or an
unfilled-order cost) adds two columns, and ``package_cost`` then includes the
band's ``package``:

``band``
    Position in ``costs.rate_card`` of the band that prices the node (null: none).
``unit_cost``
    List of one unit's cost of each order line there: the node's ``unit_cost`` +
    ``unit_per_km x km`` + ``band.unit + band.per_kg x weight``.

Every figure comes from the kernels the solvers use (``_kernels.candidates.node_report``
over ``eligibility`` and ``protection``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from omnistock._kernels import candidates, nested, sourcing
from omnistock._kernels.cost import unfilled_cost
from omnistock._kernels.rates import node_rates
from omnistock._kernels.records import Request, make_request
from omnistock.compiled.lockers import explain_reasons, parcels_taken
from omnistock.compiled.nesting import head_usage, protected_units
from omnistock.compiled.state import StockState
from omnistock.exceptions import OmnistockError, UnknownOrder
from omnistock.model.rules import Reason

if TYPE_CHECKING:
    from omnistock.compiled import CompiledNetwork, CompiledScenario
    from omnistock.plan import Plan
    from omnistock.sourcer import Decision

__all__ = ["EXPLAIN_SCHEMA", "explain_decision", "explain_plan"]

#: Columns and dtypes of an explanation frame.
EXPLAIN_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "node_id": pl.String,
    "reason": pl.String,
    "km": pl.Float64,
    "usable": pl.List(pl.Int64),
    "package_cost": pl.Float64,
    "qty": pl.Int64,
    "chosen": pl.Boolean,
    "protected": pl.List(pl.Int64),
}
_LABELS = np.array([r.label for r in sorted(Reason)])

_Arrays = tuple[np.ndarray, ...]


def _frame(
    net: CompiledNetwork,
    request: Request,
    stock: StockState,
    alloc_node: np.ndarray,
    alloc_qty: np.ndarray,
    protected: np.ndarray,
) -> pl.DataFrame:
    """The explanation frame; ``stock`` holds the counters of the order's rows only.

    ``protected`` (int64[n_nodes, n_lines]): the units the order's tier must
    leave of each line's row there (``compiled.nesting.protected_units``).

    ``stock.free`` and ``stock.limit`` are in ``sourcing.snapshot_rows`` order.
    """
    reason, km, use, pkg = candidates.node_report(
        net.record, request, stock.free, stock.limit, stock.capacity
    )
    reason = explain_reasons(reason, net, int(request.pickup), stock.capacity)
    given = np.bincount(alloc_node, weights=alloc_qty, minlength=net.n_nodes).astype(
        np.int64
    )
    columns = {
        "node_id": net.node_ids,
        "reason": _LABELS[reason],
        "km": km,
        "usable": use.tolist(),
        "package_cost": pkg,
        "qty": given,
        "chosen": given > 0,
        "protected": protected.tolist(),
    }
    if net.rated or request.charge > 0.0:
        return _rated_frame(net, request, columns)
    return pl.DataFrame(columns, schema=EXPLAIN_SCHEMA)


def _rated_frame(
    net: CompiledNetwork, request: Request, columns: dict[str, Any]
) -> pl.DataFrame:
    """The explanation frame of a v1.1 order: the band and each line's unit cost."""
    band, band_package, unit = node_rates(net.record, request)
    columns["package_cost"] = columns["package_cost"] + band_package
    columns["band"] = np.where(band >= 0, band, -1)
    columns["unit_cost"] = unit.tolist()
    return pl.DataFrame(
        columns,
        schema={**EXPLAIN_SCHEMA, "band": pl.Int64, "unit_cost": pl.List(pl.Float64)},
    ).with_columns(pl.col("band").replace(-1, None))


def explain_decision(decision: Decision) -> pl.DataFrame:
    """The explanation of a Sourcer decision, at the stock the decision saw."""
    _rows, free_rows, limit_rows, cap_left = decision._state
    net, order = decision.network, decision.order  # the rows it saw (a pool grows)
    return _frame(
        net,
        decision.request,
        StockState(free_rows, limit_rows, cap_left),
        decision.node_idx,
        decision.qty,
        protected_units(
            net, decision.request.line_sku, order.tier, order.tier in net.exempt_tiers
        ),
    )


def explain_plan(plan: Plan, order_id: str) -> pl.DataFrame:
    """The explanation of one order of a plan.

    The stock state is the one the order was decided against: for a solver that
    decides orders one at a time (``capabilities.per_order``: greedy and the peer
    policies) the scenario's stock less what the earlier orders of the plan took;
    for a batch solver, the scenario's stock less what every other order took.

    Raises
    ------
    UnknownOrder
        When the plan's scenario has no order ``order_id``.
    OmnistockError
        When the plan carries no compiled scenario (a plan read from a file).
    """
    compiled = plan._compiled
    if compiled is None:
        msg = (
            f"plan.explain({order_id!r}): the plan carries no scenario (read from a file?). "
            "Solve the scenario again to explain it."
        )
        raise OmnistockError(msg)
    orders, net = compiled.orders, compiled.network
    hits = np.flatnonzero(orders.order_ids == order_id)
    if hits.size == 0:
        raise UnknownOrder(order_id, "plan.explain")
    o = int(hits[0])
    a_order, a_line, a_node, a_qty = _plan_takes(plan, compiled)
    others = a_order < o if _per_order(plan.solver) else a_order != o
    left = _replay(
        net,
        orders.order_exempt,
        a_order[others],
        a_line[others],
        a_node[others],
        a_qty[others],
        orders.line_sku,
    )
    penalty = unfilled_cost(
        float(orders.order_unfilled[o]), float(orders.order_weight[o]), 1
    )
    levels = net.levels
    request: Request = make_request(
        orders.record, o, penalty, net.node_unit_cost, levels.nested
    )
    if levels.nested:  # v1.2: the heads the others left, then this tier's view
        theirs = (a_line[others], a_node[others], a_qty[others])
        left.head -= head_usage(compiled, *theirs)
        rows = sourcing.snapshot_rows(net.record, left.record, request.line_sku)[0]
        c = levels.tier_class(str(orders.order_tier[o]))
        nested.open_view(left.record, net.stock_level, rows, c)
    _rows, free_rows, limit_rows = sourcing.snapshot_rows(
        net.record, left.record, request.line_sku
    )
    mine = a_order == o
    tier, exempt = str(orders.order_tier[o]), bool(orders.order_exempt[o])
    left.capacity[max(request.pickup, 0)] -= parcels_taken(
        net, orders.order_pickup, a_order[others], a_node[others], int(request.pickup)
    )  # S11: the parcels the other orders sent to this order's locker
    return _frame(
        net,
        request,
        StockState(free_rows, limit_rows, left.capacity),
        a_node[mine],
        a_qty[mine],
        protected_units(net, request.line_sku, tier, exempt),
    )


def _per_order(solver: str) -> bool:
    from omnistock import solvers

    try:
        return bool(solvers.get(solver).capabilities.per_order)
    except OmnistockError:
        return False


def _plan_takes(plan: Plan, compiled: CompiledScenario) -> _Arrays:
    """The plan's allocations as compiled indices: (order_idx, line_idx, node_idx, qty)."""
    orders, net = compiled.orders, compiled.network
    lines = pl.DataFrame(
        {
            "order_id": orders.order_ids[orders.line_order],
            "sku": orders.line_sku_ids,
            "line_idx": np.arange(orders.n_lines, dtype=np.int64),
            "order_idx": orders.line_order,
        }
    )
    nodes = pl.DataFrame(
        {"node_id": net.node_ids, "node_idx": np.arange(net.n_nodes, dtype=np.int64)}
    )
    taken = plan.allocations.join(lines, on=["order_id", "sku"]).join(
        nodes, on="node_id"
    )
    return (
        taken["order_idx"].to_numpy(),
        taken["line_idx"].to_numpy(),
        taken["node_idx"].to_numpy(),
        taken["qty"].to_numpy(),
    )


def _replay(
    net: CompiledNetwork,
    order_exempt: np.ndarray,
    a_order: np.ndarray,
    a_line: np.ndarray,
    a_node: np.ndarray,
    a_qty: np.ndarray,
    line_sku: np.ndarray,
) -> StockState:
    """Counters after the given takes (batch semantics of ``_kernels.protection``)."""
    left = StockState.from_network(net)
    # Stock rows are sorted by (sku, node), so this key is ascending over rows.
    n = max(net.n_nodes, 1)
    row_key = (
        np.repeat(np.arange(net.n_skus, dtype=np.int64), np.diff(net.stock_indptr)) * n
        + net.stock_node
    )
    rows = np.searchsorted(row_key, line_sku[a_line] * n + a_node)
    np.subtract.at(left.free, rows, a_qty)
    plain = ~order_exempt[a_order]
    np.subtract.at(left.limit, rows[plain], a_qty[plain])
    np.subtract.at(left.capacity, a_node, a_qty)
    return left
