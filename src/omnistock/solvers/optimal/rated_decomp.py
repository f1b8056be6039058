"""Contract v1.1 on the optimal solver's decomposition (issue 14).

Every v1.1 term but one is a cost per candidate or per package, which the
decomposition (components, column generation, the LP-guided incumbent,
reduced-cost fixing, the small MILP) already prices (docs/decisions.md,
"optimal on carrier batches through the decomposition"):

- a unit's extra (``unit_per_km x km + band.unit + band.per_kg x kg``) depends on
  the (line, node) only: :func:`rated_candidates` puts it on each candidate as
  ``Candidates.unit_extra``, which ``candidates.unit_costs`` adds to the node's
  ``unit_cost`` wherever the decomposition prices a unit;
- a band's ``package`` depends on the (order, node) only: it is added to the
  package's fixed cost ``pair_cost``;
- an order's own unfilled unit cost is already read per order by the v1 model.

The unfilled-order charge is a fixed cost per order: :func:`with_charges` gives
each charged order a binary ``w`` priced ``charge x tier weight`` and a row
``u_l <= qty_l w`` per line (stronger in the LP than one row ``sum u <= Q w``,
and the same integer set), appended after every v1 row so the dual slices the
decomposition reads are unchanged. The LP relaxation of that model is a valid
bound; a package's Lagrangian value is unchanged (no ``x`` or ``y`` is in a
``w`` row), so column generation's bound and reduced-cost fixing stay valid.
The line-split bound and flow, which split an order by line, relax the charge
to :func:`charge_per_unit`; the one-unit-order flow adds it to the unfilled arc
(exact: one unit unfilled is the whole order unfilled).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from omnistock._kernels.cost import unfilled_cost
from omnistock._kernels.rates import pair_extras
from omnistock.compiled import CompiledScenario
from omnistock.solvers.optimal.candidates import Candidates, candidates
from omnistock.solvers.optimal.milp import MilpData

__all__ = [
    "charge_per_unit",
    "charged_orders",
    "order_charges",
    "rated_candidates",
    "with_charges",
]


def rated_candidates(compiled: CompiledScenario) -> Candidates:
    """``candidates(compiled)`` with the v1.1 unit extras and band packages priced in."""
    net, orders = compiled.network, compiled.orders
    cand = candidates(compiled)
    unit, _ = pair_extras(
        net.record, orders.record, cand.line, cand.pair_node[cand.pair]
    )
    # A band depends on the order and node only: any line of the order will do.
    _, package = pair_extras(
        net.record,
        orders.record,
        orders.line_indptr[cand.pair_order],
        cand.pair_node,
    )
    return dataclasses.replace(
        cand, pair_cost=cand.pair_cost + package, unit_extra=unit
    )


def order_charges(compiled: CompiledScenario) -> np.ndarray:
    """float64[n_orders]: each order's unfilled-order charge, tier weight applied (0 on v1)."""
    orders = compiled.orders
    return np.asarray(
        unfilled_cost(orders.order_unfilled_order, orders.order_weight, 1)
    )


def charge_per_unit(compiled: CompiledScenario) -> np.ndarray:
    """float64[n_lines]: the line's order's charge spread over the order's units.

    A relaxation of the charge for the line-split bound and flow: an order with
    ``k >= 1`` of its ``Q`` units unfilled is charged ``k / Q`` of it (at most the
    whole, which it pays), and one with all of them unfilled exactly the whole.
    """
    orders = compiled.orders
    total = np.bincount(
        orders.line_order, weights=orders.line_qty, minlength=orders.n_orders
    )
    owner = orders.line_order
    return np.asarray(order_charges(compiled)[owner] / total[owner])


def charged_orders(compiled: CompiledScenario, data: MilpData) -> np.ndarray:
    """int64: the order of each ``w`` column of ``data`` (ascending; none on v1)."""
    owners = np.unique(compiled.orders.line_order[data.lines])
    return np.asarray(owners[order_charges(compiled)[owners] > 0.0])


def with_charges(
    compiled: CompiledScenario,
    data: MilpData,
    order_mask: np.ndarray,
    *,
    per_line: bool = True,
) -> MilpData:
    """``data`` with one binary ``w`` per charged order of ``order_mask`` and its rows.

    ``per_line``: a row ``u_l - qty_l w <= 0`` per line of the order (module
    docstring); else one row ``sum of its lines' u - Q w <= 0``
    (``rated.with_rate_terms``' model). Rows and columns come after ``data``'s.
    """
    orders = compiled.orders
    charge = order_charges(compiled)
    charged = np.flatnonzero((charge > 0.0) & order_mask)
    w_of = np.full(orders.n_orders, -1, dtype=np.int64)
    w_of[charged] = np.arange(charged.size)
    line_w = w_of[orders.line_order[data.lines]]
    sel = np.flatnonzero(line_w >= 0)  # positions of charged lines among data.lines
    qty = orders.line_qty[data.lines[sel]].astype(np.float64)
    u0 = data.cand.size + data.pair.size
    w0 = data.n_vars
    if per_line:
        n_rows = sel.size
        row_u, row_w, w_col = np.arange(n_rows), np.arange(n_rows), line_w[sel]
        w_val = -qty
    else:
        n_rows = charged.size
        row_u, row_w = line_w[sel], np.arange(n_rows)
        w_col = np.arange(n_rows)
        w_val = -np.bincount(line_w[sel], weights=qty, minlength=n_rows)
    # Within a row: its u entries (ascending), then its w.
    r = np.concatenate([row_u, row_w])
    by_row = np.argsort(r, kind="stable")
    cols = np.concatenate([u0 + sel, w0 + w_col])[by_row]
    vals = np.concatenate([np.ones(sel.size), w_val])[by_row]
    counts = np.bincount(r, minlength=n_rows)
    indptr = np.concatenate([data.a_indptr, data.a_indptr[-1] + np.cumsum(counts)])
    n_new = charged.size
    return dataclasses.replace(
        data,
        cost=np.concatenate([data.cost, charge[charged]]),
        lb=np.concatenate([data.lb, np.zeros(n_new)]),
        ub=np.concatenate([data.ub, np.ones(n_new)]),
        integer=np.concatenate([data.integer, np.ones(n_new, dtype=np.bool_)]),
        a_indptr=indptr.astype(np.int64),
        a_col=np.concatenate([data.a_col, cols]).astype(np.int64),
        a_val=np.concatenate([data.a_val, vals]).astype(np.float64),
        lo=np.concatenate([data.lo, np.full(n_rows, -np.inf)]),
        hi=np.concatenate([data.hi, np.zeros(n_rows)]),
    )
