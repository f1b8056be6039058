"""Column generation over packages, LP rounding and reduced-cost fixing.

The fixed-charge model of a large batch has ~100 candidate nodes per line, yet
its LP relaxation is almost integral. So each model is solved in three steps
(docs/solvers.md):

1. **Restricted LP.** Start from the few cheapest packages of each line (plus the
   warm start's), solve the LP with GLOP, price every left-out package with the
   duals and add those that would lower the LP most, until none would. The Lagrangian
   bound ``z_RMP + sum_out min(0, value_p)`` is valid at every iteration, and at
   the end it is the LP bound of the whole model.
2. **Incumbent.** Orders the LP settles in whole units keep them; the MILP of
   the others, on the LP's packages and the stock left, completes the plan; a
   repair fills what is still short. The best of this plan, the warm start and
   nothing is the incumbent ``UB``.
3. **Fixing.** With row duals ``pi`` every plan costs at least ``pi b`` plus, per
   package block (its ``y`` and its ``x``), at least ``min(0, value_p)``, and at
   least ``value_p`` when the package ships. So a package with
   ``value_p > UB - LB`` is in no plan cheaper than ``UB`` and the MILP needs only
   the packages with ``value_p <= theta``, ``theta = UB - LB``. When those are too
   many, ``theta`` is lowered; the model's bound is then
   ``max(LB, min(B, UB, LB + theta))`` with ``B`` the MILP's bound.

Before the restricted LP has converged the Lagrangian bound ``LB`` can be far
below the optimum (it charges every left-out package its full gain, as if each
could fill its lines again). ``solvers.bounds`` gives a second bound that keeps
each line's quantity: on a large batch stopped by the time limit it is the
tighter one (docs/solvers.md, "Bounds").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from omnistock.compiled import CompiledScenario, StockState
from omnistock.progress import report
from omnistock.solvers.optimal.bounds import fallback_bound, relaxed_duals
from omnistock.solvers.optimal.candidates import Candidates, unit_costs
from omnistock.solvers.optimal.milp import MilpData, build_milp
from omnistock.solvers.optimal.rated_decomp import charged_orders

__all__ = [
    "ColumnGeneration",
    "LpResult",
    "column_generation",
    "decode",
    "fix_integral_solve_rest",
    "initial_pairs",
    "lagrangian_values",
    "solve_lp",
    "triples_to_vector",
]

#: Packages each line starts with in the restricted LP (at most) ...
START_PER_LINE = 4
#: ... and about how many packages the first restricted LP may hold in all: on a
#: large batch fewer per line, so that the first LP ends inside its share of the
#: time (100,000 "medium" orders: one per line, first LP ~40 s instead of none).
START_PACKAGES = 200_000
#: A package enters the restricted LP when its value is below this.
PRICE_TOL = 1e-7
#: Packages entering the LP per round: at least this many, at most this share of it.
ENTER_MIN = 2_000
ENTER_SHARE = 0.25


@dataclass
class LpResult:
    """An LP solve: optimal or not, objective, primal values and row duals."""

    ok: bool
    objective: float
    values: np.ndarray
    duals: np.ndarray


def solve_lp(data: MilpData, time_limit: float, engine: str = "highs") -> LpResult:
    """Solve the LP relaxation of ``data``: HiGHS' dual simplex (scipy) or GLOP.

    Measured on the first restricted LP of 10,000 "medium" orders (160k columns,
    docs/solvers.md): HiGHS dual simplex through scipy 2.6 s; through OR-Tools
    6.1 s but with wrong row duals in OR-Tools 9.15 (so never used here); GLOP
    dual 10.9 s, GLOP primal 13.5 s, PDLP 22.4 s.
    """
    from scipy.sparse import csr_matrix

    matrix = csr_matrix(
        (data.a_val, data.a_col, data.a_indptr), shape=(data.lo.shape[0], data.n_vars)
    )
    failed = LpResult(False, float("nan"), np.empty(0), np.empty(0))
    if time_limit <= 0:
        return failed
    if engine == "highs":
        from scipy.optimize import linprog

        eq = data.lo == data.hi
        res = linprog(
            data.cost,
            A_ub=matrix[~eq],
            b_ub=data.hi[~eq],
            A_eq=matrix[eq],
            b_eq=data.hi[eq],
            bounds=np.stack([data.lb, data.ub], axis=1),
            method="highs-ds",
            options={"time_limit": time_limit},
        )
        if res.status != 0:
            return failed
        duals = np.empty(data.lo.shape[0])
        duals[eq] = res.eqlin.marginals
        duals[~eq] = res.ineqlin.marginals
        return LpResult(True, float(res.fun), np.asarray(res.x), duals)
    from ortools.linear_solver.python import model_builder_helper as mbh

    model: Any = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(
        data.lb, data.ub, data.cost, data.lo, data.hi, matrix
    )
    solver: Any = mbh.ModelSolverHelper("glop")
    solver.set_time_limit_in_seconds(time_limit)
    solver.solve(model)
    if solver.status() != mbh.SolveStatus.OPTIMAL:
        return failed
    return LpResult(
        True,
        float(solver.objective_value()),
        np.asarray(solver.variable_values()),
        np.asarray(solver.dual_values()),
    )


@dataclass
class ColumnGeneration:
    """The outcome of :func:`column_generation`.

    Attributes
    ----------
    data, lp
        The last restricted LP solved to optimality and its solution (None if none).
    lower
        The Lagrangian bound on the model (``-inf`` without an LP).
    values : float64[n_pair]
        :func:`lagrangian_values` under the last duals.
    pair_mask : bool[n_pair]
        The packages of the restricted LP.
    converged
        No package would lower the LP: ``lower`` is the LP bound of the model.
    rounds
        LPs solved.
    line_lower
        :func:`omnistock.solvers.bounds.fallback_bound` when the LP did not
        converge (``-inf`` otherwise: ``lower`` is then the LP bound, never below it).
    """

    data: MilpData | None
    lp: LpResult | None
    lower: float
    values: np.ndarray
    pair_mask: np.ndarray
    converged: bool
    rounds: int
    line_lower: float = -np.inf


def column_generation(
    compiled: CompiledScenario,
    cand: Candidates,
    order_mask: np.ndarray,
    pair_mask: np.ndarray,
    deadline: float,
    last_round: float,
    engine: str = "highs",
    *,
    all_constraints: bool = False,
    bound_deadline: float = np.inf,
) -> ColumnGeneration:
    """Solve the LP of the orders in ``order_mask`` by pricing packages in.

    Starts from ``pair_mask`` (changed in place); LPs stop at ``deadline``
    (``time.perf_counter()`` seconds) and no round starts after ``last_round``.
    The line-split bound of an unconverged LP stops adding price vectors at
    ``bound_deadline`` (``bounds.fallback_bound``).
    """
    in_group = order_mask[cand.pair_order]
    out = ColumnGeneration(
        None, None, -np.inf, np.zeros(cand.pair_order.shape[0]), pair_mask, False, 0
    )
    while True:
        data = build_milp(
            compiled,
            cand,
            order_mask,
            pair_mask=pair_mask,
            all_constraints=all_constraints,
        )
        report(f"LP round {out.rounds + 1}")
        lp = solve_lp(data, deadline - time.perf_counter(), engine)
        out.rounds += 1
        if not lp.ok:
            duals = None if out.lp is None else out.lp.duals
            out.line_lower = fallback_bound(
                compiled, cand, order_mask, out.data, duals, bound_deadline
            )
            return out
        out.data, out.lp = data, lp
        out.values = lagrangian_values(compiled, cand, data, lp.duals, order_mask)
        left_out = in_group & ~pair_mask
        out.lower = lp.objective + float(np.minimum(out.values[left_out], 0.0).sum())
        enter = np.flatnonzero(left_out & (out.values < -PRICE_TOL))
        out.converged = enter.size == 0
        if out.converged:
            return out
        if time.perf_counter() > last_round:
            out.line_lower = fallback_bound(
                compiled, cand, order_mask, data, lp.duals, bound_deadline
            )
            return out
        # Add the most attractive packages only, so the LP stays small.
        most = max(ENTER_MIN, int(ENTER_SHARE * pair_mask.sum()))
        if enter.size > most:
            enter = enter[np.argpartition(out.values[enter], most)[:most]]
        pair_mask[enter] = True


def initial_pairs(
    compiled: CompiledScenario, cand: Candidates, order_mask: np.ndarray | None = None
) -> np.ndarray:
    """bool[n_pair]: the cheapest packages per line, per unit, of the orders in ``order_mask``.

    ``START_PER_LINE`` per line, or fewer (at least one) when the lines of
    ``order_mask`` (default: all) would bring more than ``START_PACKAGES``.
    """
    orders = compiled.orders
    if cand.line.size == 0:
        return np.zeros(cand.pair_order.shape[0], dtype=np.bool_)
    n_lines = (
        orders.n_lines
        if order_mask is None
        else int(np.count_nonzero(order_mask[orders.line_order]))
    )
    per_line = max(1, min(START_PER_LINE, START_PACKAGES // max(n_lines, 1)))
    # Only the model's candidates: a small model of a huge batch must not sort them all.
    c = (
        np.arange(cand.line.shape[0])
        if order_mask is None
        else np.flatnonzero(order_mask[orders.line_order[cand.line]])
    )
    pair, line = cand.pair[c], cand.line[c]
    score = unit_costs(compiled, cand, c) + cand.pair_cost[pair] / cand.ub[c]
    order = np.lexsort((score, line))
    line_sorted = line[order]
    first = np.searchsorted(line_sorted, line_sorted, side="left")
    rank = np.arange(order.size) - first
    mask = np.zeros(cand.pair_order.shape[0], dtype=np.bool_)
    mask[pair[order[rank < per_line]]] = True
    return mask


def lagrangian_values(
    compiled: CompiledScenario,
    cand: Candidates,
    data: MilpData,
    duals: np.ndarray,
    order_mask: np.ndarray | None = None,
) -> np.ndarray:
    """float64[n_pair]: the least a package adds to the LP, given the row duals.

    ``value_p = pair_cost - split dual + sum over its candidates of
    ub * min(0, reduced cost of x)``, with ``x``'s reduced cost read from the
    line, stock, protection and capacity duals (rows absent from ``data`` have
    dual 0, which is a valid dual of the restricted LP with the row added).
    Only the packages of ``order_mask`` (default: all) are priced; the others
    get their fixed cost.
    """
    orders = compiled.orders
    line_dual = np.zeros(orders.n_lines)
    line_dual[data.lines] = duals[: data.lines.size]
    split_dual, free_dual, limit_dual, cap_dual = relaxed_duals(compiled, data, duals)

    c = (
        slice(None)
        if order_mask is None
        else np.flatnonzero(order_mask[orders.line_order[cand.line]])
    )
    line, row, pair = cand.line[c], cand.row[c], cand.pair[c]
    node = cand.pair_node[pair]
    protected = ~orders.order_exempt[orders.line_order[line]]
    reduced = (
        unit_costs(compiled, cand, c)
        - line_dual[line]
        - free_dual[row]
        - np.where(protected, limit_dual[row], 0.0)
        - cap_dual[node]
    )
    gain = np.bincount(
        pair,
        weights=cand.ub[c] * np.minimum(reduced, 0.0),
        minlength=cand.pair_order.shape[0],
    )
    return np.asarray(cand.pair_cost - split_dual[cand.pair_order] + gain)


def triples_to_vector(
    compiled: CompiledScenario, cand: Candidates, data: MilpData, triples: np.ndarray
) -> np.ndarray | None:
    """The plan ``triples`` (line, node, qty) as a variable vector of ``data``.

    Triples of lines outside the model are ignored; returns None when a triple
    has no variable in the model or exceeds its bound.
    """
    net, orders = compiled.network, compiled.orders
    n_nodes = max(net.n_nodes, 1)
    c_line = cand.line[data.cand]
    key = c_line * n_nodes + cand.pair_node[cand.pair[data.cand]]
    order = np.argsort(key)
    keys = key[order]
    in_model = np.isin(orders.line_order[triples[:, 0]], orders.line_order[data.lines])
    t = triples[in_model]
    w_key = t[:, 0] * n_nodes + t[:, 1]
    pos = np.searchsorted(keys, w_key)
    if keys.size == 0:
        if t.shape[0]:
            return None
        pos = np.zeros(0, dtype=np.int64)
    elif np.any(pos >= keys.size) or np.any(
        keys[np.minimum(pos, keys.size - 1)] != w_key
    ):
        return None
    nx, ny, nu = data.cand.size, data.pair.size, data.lines.size
    x = np.zeros(nx)
    np.add.at(x, order[pos], t[:, 2])
    if np.any(x > data.ub[:nx]):
        return None
    y = np.zeros(ny)
    pair_local = np.searchsorted(data.pair, cand.pair[data.cand])
    np.maximum.at(y, pair_local, (x > 0).astype(np.float64))
    line_local = np.searchsorted(data.lines, c_line)
    filled = np.bincount(line_local, weights=x, minlength=nu)
    u = orders.line_qty[data.lines] - filled
    short = np.bincount(
        orders.line_order[data.lines], weights=u > 0, minlength=orders.n_orders
    )
    z = (short[data.all_or_nothing_orders] == 0).astype(np.float64)
    head = np.concatenate([x, y, u, z])
    # Columns past z are v1.1's charge binaries w (rated.with_rate_terms): 1
    # keeps each "sum u <= Q w" row feasible whatever the plan left unfilled.
    w = np.ones(data.n_vars - head.size)
    if cand.unit_extra is not None:  # rated_decomp's w: 1 only for an order left short
        w = (short[charged_orders(compiled, data)] > 0).astype(np.float64)
    return np.concatenate([head, w])


def decode(cand: Candidates, data: MilpData, values: np.ndarray) -> np.ndarray:
    """int64[k, 3]: (line, node, qty) of the candidates with units in ``values``.

    A unit ships only in a package the solution opens (``y`` rounds to 1). At
    large quantities the back-end's integrality tolerance lets ``x <= ub y`` hold
    with ``y`` ~ 1e-9 and ``x`` >= 1: such units are dropped (left unfilled), and
    an all-or-nothing order that loses any is dropped whole, so the plan keeps
    every rule (S6, S7). Below such quantities ``y`` is 0 or 1 and nothing changes.
    """
    nx = data.cand.size
    qty = np.rint(values[:nx]).astype(np.int64)
    # data.pair is ascending (flatnonzero in build_milp).
    opened = values[nx + np.searchsorted(data.pair, cand.pair[data.cand])] > 0.5
    dropped = (qty > 0) & ~opened
    if dropped.any():
        order = cand.pair_order[cand.pair[data.cand]]
        whole = np.isin(order, data.all_or_nothing_orders)
        qty[~opened | (whole & np.isin(order, order[dropped]))] = 0
    keep = qty > 0
    c = data.cand[keep]
    return np.stack([cand.line[c], cand.pair_node[cand.pair[c]], qty[keep]], axis=1)


def fix_integral_solve_rest(
    compiled: CompiledScenario,
    cand: Candidates,
    data: MilpData,
    values: np.ndarray,
    order_mask: np.ndarray,
    pair_mask: np.ndarray,
    solve_sub: Callable[[MilpData], np.ndarray | None],
) -> np.ndarray:
    """A plan from an LP solution: keep its whole orders, solve the MILP of the rest.

    Orders whose LP values are all whole keep them; the others are solved as a
    MILP on the LP's packages with the stock and capacity left. ``solve_sub`` solves a MILP and returns its variable vector, or None.
    """
    net, orders = compiled.network, compiled.orders
    nx, ny, nu = data.cand.size, data.pair.size, data.lines.size
    frac = np.abs(values - np.rint(values)) > 1e-6
    c_order = orders.line_order[cand.line[data.cand]]
    unsettled = np.zeros(orders.n_orders, dtype=np.bool_)
    unsettled[c_order[frac[:nx]]] = True
    unsettled[cand.pair_order[data.pair[frac[nx : nx + ny]]]] = True
    unsettled[orders.line_order[data.lines[frac[nx + ny : nx + ny + nu]]]] = True
    nz = data.all_or_nothing_orders.size  # v1.1's w columns follow z (rated_decomp)
    unsettled[data.all_or_nothing_orders[frac[nx + ny + nu : nx + ny + nu + nz]]] = True
    unsettled[charged_orders(compiled, data)[frac[nx + ny + nu + nz :]]] = True
    units = np.rint(values[:nx]).astype(np.int64)
    # Units in a package the LP leaves shut (y ~ 1e-9 at huge quantities, see
    # decode) do not settle their order.
    shut = values[nx + np.searchsorted(data.pair, cand.pair[data.cand])] <= 0.5
    unsettled[c_order[(units > 0) & shut]] = True
    fixed = (units > 0) & ~unsettled[c_order]
    c, qty = data.cand[fixed], units[fixed]
    node = cand.pair_node[cand.pair[c]]
    settled = np.stack([cand.line[c], node, qty], axis=1)
    if not unsettled.any():
        return settled
    n_rows = net.stock_node.shape[0]
    protected = ~orders.order_exempt[c_order[fixed]]
    free = net.stock_free - np.bincount(cand.row[c], qty, n_rows).astype(np.int64)
    used = np.bincount(cand.row[c][protected], qty[protected], n_rows)
    limit = net.stock_limit - used.astype(np.int64)
    cap = net.node_capacity - np.bincount(node, qty, net.n_nodes).astype(np.int64)
    sub = build_milp(
        compiled,
        cand,
        unsettled & order_mask,
        pair_mask=pair_mask,
        left=StockState(free, limit, cap),
    )
    sub_values = solve_sub(sub)
    if sub_values is None:
        return settled
    return np.concatenate([settled, decode(cand, sub, sub_values)])
