"""Lower bounds for a model whose LP did not converge: the line-split bound.

Column generation's Lagrangian bound is the LP bound once the restricted LP has
converged, but before that it can be far below the optimum (it credits every
left-out package with its full gain, as if each could fill its lines again). This
module gives a bound that is valid for *any* non-negative prices on the stock,
protection, capacity and split-limit rows and keeps each line's quantity
(docs/solvers.md, "Bounds"):

Relax those rows with the prices as Lagrange multipliers. What is left per order
is still a fixed-charge problem; relax it further so that it splits by line:

- a package's fixed cost ``F`` (plus its split price) is shared by the lines it
  can serve in proportion to their quantities, each line's share charged per unit
  as ``w F / ub`` (``F y >= sum_l w_l F x_l / ub_l`` for any ``y >= x_l / ub_l``
  and weights summing to 1: exact when a package ships its lines in full);
- the split limit's link between lines is dropped.

Each line is then a fractional knapsack over all of its candidates: it takes,
cheapest first, the units priced below its unfilled cost. An all-or-nothing
order keeps its link: it costs the least of its unfilled cost and of filling
every line in full, cheapest units first (for a ship-complete order, the
cheapest package that holds every line, which the shares price exactly). Without
that link, at prices near the unfilled cost the bound lets such an order fill
the lines it likes and leave the rest at no loss (on 10,000 "medium" orders the
link lifts the bound by 1.4 %). The bound is the sum over orders minus the
prices times the relaxed rows' right-hand sides.

Which prices: the duals of the last restricted LP, and two *shortage* price
vectors (every row of a SKU whose demand exceeds its supply, all takes or the
non-exempt ones, priced at the unfilled cost of one unit), which need no LP at
all. :func:`fallback_bound` returns the best of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from omnistock._kernels.cost import unfilled_cost
from omnistock._kernels.knapsack import cheapest_first
from omnistock.compiled import NO_LIMIT, CompiledScenario
from omnistock.solvers.optimal.candidates import Candidates, unit_costs
from omnistock.solvers.optimal.milp import MilpData
from omnistock.solvers.optimal.rated_decomp import charge_per_unit

__all__ = [
    "RowPrices",
    "dual_prices",
    "fallback_bound",
    "line_split_bound",
    "package_share",
    "relaxed_duals",
    "shortage_prices",
]


@dataclass(frozen=True, eq=False)
class RowPrices:
    """Non-negative prices of the relaxed rows (0 where a row is not relaxed).

    Attributes
    ----------
    split : float64[n_orders]
        Per package of the order (its split limit).
    free, limit : float64[n_rows]
        Per unit of a stock row (all takes), and per non-exempt unit (protected limit).
    capacity : float64[n_nodes]
        Per unit shipped by a node (nodes without a capacity must have 0).
    """

    split: np.ndarray
    free: np.ndarray
    limit: np.ndarray
    capacity: np.ndarray


def relaxed_duals(
    compiled: CompiledScenario, data: MilpData, duals: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The duals of ``data``'s split, stock and capacity rows, spread to full arrays.

    Returns float64 arrays per order (split limit), per stock row (all takes, then
    non-exempt takes) and per node (capacity); rows absent from ``data`` get 0.
    Duals of these ``<=`` rows are non-positive.
    """
    net, orders = compiled.network, compiled.orders
    split_dual = np.zeros(orders.n_orders)
    first = data.first_split_row
    split_dual[data.split_orders] = duals[first : first + data.split_orders.size]
    n_rows = net.stock_node.shape[0]
    free_dual, limit_dual = np.zeros(n_rows), np.zeros(n_rows)
    first = data.first_stock_row
    stock_duals = duals[first : first + data.stock_rows.size]
    is_free = data.stock_kind == 0
    free_dual[data.stock_rows[is_free]] = stock_duals[is_free]
    limit_dual[data.stock_rows[~is_free]] = stock_duals[~is_free]
    cap_dual = np.zeros(net.n_nodes)
    first += data.stock_rows.size  # rows after the capacities (lockers, v1.1) ignored
    cap_dual[data.cap_nodes] = duals[first : first + data.cap_nodes.size]
    return split_dual, free_dual, limit_dual, cap_dual


def dual_prices(
    compiled: CompiledScenario, data: MilpData, duals: np.ndarray
) -> RowPrices:
    """The row duals of an LP of ``data`` as prices (their negatives, at least 0)."""
    split, free, limit, capacity = relaxed_duals(compiled, data, duals)
    return RowPrices(
        split=np.maximum(-split, 0.0),
        free=np.maximum(-free, 0.0),
        limit=np.maximum(-limit, 0.0),
        capacity=np.maximum(-capacity, 0.0),
    )


def shortage_prices(
    compiled: CompiledScenario, order_mask: np.ndarray
) -> list[RowPrices]:
    """Prices at the unfilled cost of one unit on the rows of short SKUs.

    Two vectors: the free rows of every SKU whose units ordered (by the orders of
    ``order_mask``) exceed its free units, and the protected-limit rows of every
    SKU whose non-exempt units ordered exceed its protected units. A line of such
    a SKU then gains nothing from any node, so the bound counts at least the
    shortfall as unfilled.
    """
    net, orders = compiled.network, compiled.orders
    n_skus = net.stock_indptr.shape[0] - 1
    sku_of_row = np.repeat(np.arange(n_skus), np.diff(net.stock_indptr))
    lines = order_mask[orders.line_order] & (orders.line_sku >= 0)
    protected = lines & ~orders.order_exempt[orders.line_order]
    qty = orders.line_qty.astype(np.float64)

    def short(supply: np.ndarray, demand_lines: np.ndarray) -> np.ndarray:
        have = np.bincount(sku_of_row, weights=supply, minlength=n_skus)
        want = np.bincount(
            orders.line_sku[demand_lines],
            weights=qty[demand_lines],
            minlength=n_skus,
        )
        return np.where(want[sku_of_row] > have[sku_of_row], net.unfilled, 0.0)

    zero_rows = np.zeros(sku_of_row.shape[0])
    split, capacity = np.zeros(orders.n_orders), np.zeros(net.n_nodes)
    return [
        RowPrices(split, short(net.stock_free, lines), zero_rows, capacity),
        RowPrices(split, zero_rows, short(net.stock_limit, protected), capacity),
    ]


def package_share(
    compiled: CompiledScenario, cand: Candidates, c: np.ndarray
) -> np.ndarray:
    """float64[len(c)]: the part of its package's fixed cost each candidate pays per unit.

    A package's cost is shared by the lines it can serve (among the candidates
    ``c``, which hold whole orders) in proportion to their quantities, and a
    line's share is spread over its ``ub`` units (module docstring). The
    line-split bound and its flow (``solvers.line_flow``) both price by it.
    """
    orders = compiled.orders
    line, pair = cand.line[c], cand.pair[c]
    qty = orders.line_qty.astype(np.float64)
    served = np.bincount(pair, weights=qty[line], minlength=cand.pair_order.shape[0])
    return np.asarray(qty[line] / served[pair] / cand.ub[c].astype(np.float64))


def line_split_bound(
    compiled: CompiledScenario,
    cand: Candidates,
    order_mask: np.ndarray,
    prices: RowPrices,
) -> float:
    """The line-split bound (module docstring) of the orders of ``order_mask``.

    Valid for any non-negative ``prices``; the model's stock, protection and
    capacity are the compiled network's.
    """
    net, orders = compiled.network, compiled.orders
    has_cap = net.node_capacity < NO_LIMIT
    cap_price = np.where(has_cap, prices.capacity, 0.0)
    in_model = np.flatnonzero(order_mask)
    constant = -float(
        prices.free @ net.stock_free
        + prices.limit @ net.stock_limit
        + cap_price @ np.where(has_cap, net.node_capacity, 0)
        + prices.split[in_model] @ orders.order_max_splits[in_model]
    )

    c = np.flatnonzero(order_mask[orders.line_order[cand.line]] & (cand.ub > 0))
    line, pair, row = cand.line[c], cand.pair[c], cand.row[c]
    ub = cand.ub[c].astype(np.float64)
    qty = orders.line_qty.astype(np.float64)
    node = cand.pair_node[pair]
    order = orders.line_order[line]
    protected = ~orders.order_exempt[order]
    price = (
        unit_costs(compiled, cand, c)  # v1.1: with the line's extra
        + prices.free[row]
        + np.where(protected, prices.limit[row], 0.0)
        + cap_price[node]
        + package_share(compiled, cand, c)
        * (cand.pair_cost[pair] + prices.split[order])
    )
    n_orders, n_lines = orders.n_orders, orders.n_lines
    # A ship-complete order's candidates come in whole packages (one per line).
    exact_order = np.zeros(n_orders, dtype=np.bool_)
    exact_order[order[cand.exact[c]]] = True
    package = np.bincount(pair, weights=ub * price, minlength=cand.pair_order.shape[0])
    holds = np.bincount(pair, minlength=cand.pair_order.shape[0])
    whole = (holds > 0) & (holds == np.diff(orders.line_indptr)[cand.pair_order])
    whole &= exact_order[cand.pair_order]
    best_package = np.full(n_orders, np.inf)
    np.minimum.at(best_package, cand.pair_order[whole], package[whole])

    # Units each candidate takes to fill its line, cheapest first.
    # (Candidates are listed line by line, which the kernel needs.)
    by, take = cheapest_first(line, price, ub, qty)
    line, price = line[by], price[by]
    # v1.1: each order's own unit cost (the scenario's on a v1 batch), and its
    # unfilled-order charge spread over its units (rated_decomp.charge_per_unit).
    own = orders.order_unfilled
    penalty = unfilled_cost(
        own[orders.line_order[line]], orders.order_weight[orders.line_order[line]], 1
    )
    spread = None if cand.unit_extra is None else charge_per_unit(compiled)
    if spread is not None:
        penalty = penalty + spread[line]
    # A line that may stay short takes the units priced below its unfilled cost
    # (a prefix, prices being sorted); a line of an all-or-nothing order all it needs.
    gain = np.bincount(
        line, weights=np.minimum(price - penalty, 0.0) * take, minlength=n_lines
    )
    full = np.bincount(line, weights=price * take, minlength=n_lines)
    filled = np.bincount(line, weights=take, minlength=n_lines) >= qty

    lines = order_mask[orders.line_order]
    unfilled = unfilled_cost(
        own[orders.line_order], orders.order_weight[orders.line_order], qty
    )
    if spread is not None:
        unfilled = unfilled + spread * qty
    unfilled = np.where(lines, unfilled, 0.0)
    by_order = orders.line_order
    partial = np.bincount(by_order, weights=unfilled + gain, minlength=n_orders)
    nothing = np.bincount(by_order, weights=unfilled, minlength=n_orders)
    cannot = np.bincount(by_order, weights=lines & ~filled, minlength=n_orders) > 0
    in_full = np.where(
        exact_order,
        best_package,
        np.where(
            cannot, np.inf, np.bincount(by_order, weights=full, minlength=n_orders)
        ),
    )
    all_or_nothing = orders.order_all_or_nothing & order_mask
    value = np.where(all_or_nothing, np.minimum(nothing, in_full), partial)
    return float(value[order_mask].sum() + constant)


def fallback_bound(
    compiled: CompiledScenario,
    cand: Candidates,
    order_mask: np.ndarray,
    data: MilpData | None,
    duals: np.ndarray | None,
    deadline: float = np.inf,
) -> float:
    """The best line-split bound over the LP's duals (if any) and the shortage prices.

    Each price vector costs a pass over the candidates (seconds on a large
    model): the first always runs, each next one only when a pass as long as
    the last ends before ``deadline`` (``time.perf_counter()`` seconds).
    """
    candidates = shortage_prices(compiled, order_mask)
    if data is not None and duals is not None:
        candidates.insert(0, dual_prices(compiled, data, duals))
    best = -np.inf
    for prices in candidates:
        began = time.perf_counter()
        best = max(best, line_split_bound(compiled, cand, order_mask, prices))
        if time.perf_counter() + (time.perf_counter() - began) > deadline:
            break
    return best
