"""The fixed-charge MILP of a set of orders, as sparse arrays any back-end reads.

Variables per model: ``x`` integer units per candidate (line, node), ``y`` binary
per (order, node) package, ``u`` unfilled units per line and ``z`` binary per
all-or-nothing order. Rows: ``sum x + u = qty`` per line; ``x <= ub y`` per
candidate (``x = ub y`` for a ship-complete order); ``u + qty z = qty`` per line
of an all-or-nothing order and ``y <= z`` per package of it; ``sum y <= k``
per order with a split limit below its number of packages; ``sum x <= free`` and
``sum of non-exempt x <= limit`` per stock row, ``sum x <= capacity`` per node
(only where they can bind, see ``solvers.components``, unless asked for all).
Objective: unit cost x + package cost y + tier-weighted unfilled cost u.
:func:`solve_milp` hands the arrays to an OR-Tools back-end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from omnistock._kernels.cost import unfilled_cost
from omnistock.compiled import NO_LIMIT, CompiledScenario, StockState
from omnistock.solvers.base import SolveStatus
from omnistock.solvers.optimal.candidates import Candidates, unit_costs
from omnistock.solvers.optimal.options import BACKEND_NAME, OptimalOptions

__all__ = ["MilpAnswer", "MilpData", "build_milp", "solve_milp"]


@dataclass(frozen=True, eq=False)
class MilpData:
    """A MILP ``min c x`` s.t. ``lo <= A x <= hi``, ``lb <= x <= ub``, some x integer.

    Variables are ``x`` (candidates), ``y`` (packages), ``u`` (unfilled units per
    line) and ``z`` (fill flags of all-or-nothing orders), in that order.

    Attributes
    ----------
    cost, lb, ub : float64[n_vars]
    integer : bool[n_vars]
    a_indptr, a_col : int64, a_val : float64
        CSR rows of ``A``.
    lo, hi : float64[n_rows]
    cand, pair, lines, all_or_nothing_orders : int64
        Which candidates / packages / lines / orders the x, y, u, z blocks hold.
    stock_rows : int64[k], stock_kind : int8[k]
        Stock row of each stock constraint (after the structural rows) and whether
        it limits all takes (0) or the non-exempt ones (1).
    cap_nodes : int64[m]
        Node of each capacity constraint (after the stock constraints).
    first_stock_row : int
        Index of the first stock constraint in ``A``.
    split_orders : int64[j]
        Order of each split-limit row, which start at ``first_split_row``.

    Rows come in this order: one per line, one per candidate, one per line of an
    all-or-nothing order, one per package of such an order, split limits, stock (all takes, then non-exempt takes),
    capacity.
    """

    cost: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    a_indptr: np.ndarray
    a_col: np.ndarray
    a_val: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    cand: np.ndarray
    pair: np.ndarray
    lines: np.ndarray
    all_or_nothing_orders: np.ndarray
    stock_rows: np.ndarray
    stock_kind: np.ndarray
    cap_nodes: np.ndarray
    first_stock_row: int
    split_orders: np.ndarray
    first_split_row: int

    @property
    def n_vars(self) -> int:
        """Number of variables."""
        return int(self.cost.shape[0])


def build_milp(
    compiled: CompiledScenario,
    cand: Candidates,
    order_mask: np.ndarray,
    *,
    pair_mask: np.ndarray | None = None,
    all_constraints: bool = False,
    left: StockState | None = None,
    lockers: bool = False,
) -> MilpData:
    """The fixed-charge MILP of the orders where ``order_mask`` is True.

    With ``pair_mask`` (bool per package) only those packages and their
    candidates are variables (a restricted master of column generation).

    With ``all_constraints`` every stock row and capacity the orders touch gets a
    constraint (for shadow prices), not only the ones that can bind.

    With ``lockers`` each capacity-limited locker gets a last row: its packages
    ``y`` <= its parcels left (S11, ``solvers.optimal.lockers``).
    """
    net, orders = compiled.network, compiled.orders
    if left is None:
        left = StockState.of_network(net)
    free, limit, capacity = left.free, left.limit, left.capacity
    cand_order = orders.line_order[cand.line]
    if pair_mask is None:
        ci = np.flatnonzero(order_mask[cand_order])
        pi = np.flatnonzero(order_mask[cand.pair_order])
    else:
        ci = np.flatnonzero(order_mask[cand_order] & pair_mask[cand.pair])
        pi = np.flatnonzero(order_mask[cand.pair_order] & pair_mask)
    li = np.flatnonzero(order_mask[orders.line_order])
    whole_orders = np.flatnonzero(order_mask & orders.order_all_or_nothing)
    nx, ny, nu, nz = ci.size, pi.size, li.size, whole_orders.size
    x0, y0, u0, z0 = 0, nx, nx + ny, nx + ny + nu
    # Local positions of packages, lines and all-or-nothing orders.
    pair_pos = np.full(cand.pair_order.shape[0], -1, dtype=np.int64)
    pair_pos[pi] = np.arange(ny)
    line_pos = np.full(orders.n_lines, -1, dtype=np.int64)
    line_pos[li] = np.arange(nu)
    all_or_nothing_pos = np.full(orders.n_orders, -1, dtype=np.int64)
    all_or_nothing_pos[whole_orders] = np.arange(nz)

    c_line, c_row, c_ub = cand.line[ci], cand.row[ci], cand.ub[ci].astype(np.float64)
    c_node = cand.pair_node[cand.pair[ci]]
    c_exempt = orders.order_exempt[cand_order[ci]]
    qty = orders.line_qty[li].astype(np.float64)
    weight = orders.order_weight[orders.line_order[li]]
    cost = np.concatenate(
        [
            unit_costs(compiled, cand, ci),  # v1.1: with the line's extra
            cand.pair_cost[pi],
            # v1.1: the order's own unfilled cost (the scenario's unless overridden)
            unfilled_cost(orders.order_unfilled[orders.line_order[li]], weight, 1),
            np.zeros(nz),
        ]
    )
    lb = np.zeros(nx + ny + nu + nz)
    ub = np.concatenate([c_ub, np.ones(ny), qty, np.ones(nz)])
    integer = np.ones(lb.shape[0], dtype=np.bool_)
    integer[u0:z0] = False  # u = qty - sum x is integral whenever x is

    rows_r: list[np.ndarray] = []
    rows_c: list[np.ndarray] = []
    rows_v: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    n_rows = 0

    def add(
        r: np.ndarray, c: np.ndarray, v: np.ndarray, lo_: np.ndarray, hi_: np.ndarray
    ) -> None:
        nonlocal n_rows
        rows_r.append(r + n_rows)
        rows_c.append(c)
        rows_v.append(v)
        lo.append(lo_)
        hi.append(hi_)
        n_rows += lo_.shape[0]

    # Each line: sum_n x + u = qty.
    lp = line_pos[c_line]
    add(
        np.concatenate([lp, np.arange(nu)]),
        np.concatenate([x0 + np.arange(nx), u0 + np.arange(nu)]),
        np.ones(nx + nu),
        qty,
        qty,
    )
    # Each candidate: x <= ub * y (units only from a node that ships a package).
    cp = pair_pos[cand.pair[ci]]
    add(
        np.concatenate([np.arange(nx), np.arange(nx)]),
        np.concatenate([x0 + np.arange(nx), y0 + cp]),
        np.concatenate([np.ones(nx), -c_ub]),
        np.where(cand.exact[ci], 0.0, -np.inf),  # ship-complete: x = qty y
        np.zeros(nx),
    )
    # All-or-nothing: u + qty z = qty (every line full, or none).
    all_or_nothing_lines = np.flatnonzero(
        all_or_nothing_pos[orders.line_order[li]] >= 0
    )
    na = all_or_nothing_lines.size
    add(
        np.concatenate([np.arange(na), np.arange(na)]),
        np.concatenate(
            [
                u0 + all_or_nothing_lines,
                z0 + all_or_nothing_pos[orders.line_order[li[all_or_nothing_lines]]],
            ]
        ),
        np.concatenate([np.ones(na), qty[all_or_nothing_lines]]),
        qty[all_or_nothing_lines],
        qty[all_or_nothing_lines],
    )

    # All-or-nothing: no package for an order left unfilled (y <= z).
    all_or_nothing_pairs = np.flatnonzero(all_or_nothing_pos[cand.pair_order[pi]] >= 0)
    add(
        np.concatenate(
            [np.arange(all_or_nothing_pairs.size), np.arange(all_or_nothing_pairs.size)]
        ),
        np.concatenate(
            [
                y0 + all_or_nothing_pairs,
                z0 + all_or_nothing_pos[cand.pair_order[pi[all_or_nothing_pairs]]],
            ]
        ),
        np.concatenate(
            [np.ones(all_or_nothing_pairs.size), -np.ones(all_or_nothing_pairs.size)]
        ),
        np.full(all_or_nothing_pairs.size, -np.inf),
        np.zeros(all_or_nothing_pairs.size),
    )

    def add_sums(var: np.ndarray, key: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """Rows ``sum of var grouped by key <= rhs[key]``; returns the keys in row order."""
        keys, pos = np.unique(key, return_inverse=True)
        add(
            pos,
            var,
            np.ones(var.size),
            np.full(keys.size, -np.inf),
            rhs[keys].astype(np.float64),
        )
        return keys

    # Split limit: sum of packages <= k, where k is below the number of packages.
    p_order = cand.pair_order[pi]
    n_pairs = np.bincount(p_order, minlength=orders.n_orders)
    limited = orders.order_max_splits[p_order] < n_pairs[p_order]
    first_split_row = n_rows
    split_orders = add_sums(
        y0 + np.flatnonzero(limited), p_order[limited], orders.order_max_splits
    )
    first_stock_row = n_rows
    # Stock: all takes <= free; non-exempt takes <= protected limit; and capacity.
    free_binds = cand.row_free_binds | all_constraints
    # A protected limit at or above the free units repeats the free row: left out
    # (it would only split the row's dual between two identical constraints).
    limit_binds = (cand.row_limit_binds | all_constraints) & (limit < free)
    cap_binds = cand.cap_binds | (all_constraints & (net.node_capacity < NO_LIMIT))
    sel = free_binds[c_row]
    rows_all = add_sums(x0 + np.flatnonzero(sel), c_row[sel], free)
    sel = limit_binds[c_row] & ~c_exempt
    rows_lim = add_sums(x0 + np.flatnonzero(sel), c_row[sel], limit)
    sel = cap_binds[c_node]
    cap_nodes = add_sums(x0 + np.flatnonzero(sel), c_node[sel], capacity)
    if lockers:  # S11: the rows come last, so the dual slices above stay as they are
        from omnistock.solvers.optimal.lockers import locker_rows

        at, locker = locker_rows(compiled, cand, pi)
        add_sums(y0 + at, locker, capacity)

    r = np.concatenate(rows_r)
    order = np.argsort(r, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
    data = MilpData(
        cost=cost,
        lb=lb,
        ub=ub,
        integer=integer,
        a_indptr=indptr,
        a_col=np.concatenate(rows_c)[order].astype(np.int64),
        a_val=np.concatenate(rows_v)[order].astype(np.float64),
        lo=np.concatenate(lo).astype(np.float64),
        hi=np.concatenate(hi).astype(np.float64),
        cand=ci,
        pair=pi,
        lines=li,
        all_or_nothing_orders=whole_orders,
        stock_rows=np.concatenate([rows_all, rows_lim]),
        stock_kind=np.concatenate(
            [
                np.zeros(rows_all.size, dtype=np.int8),
                np.ones(rows_lim.size, dtype=np.int8),
            ]
        ),
        cap_nodes=cap_nodes,
        first_stock_row=first_stock_row,
        split_orders=split_orders,
        first_split_row=first_split_row,
    )
    if cand.unit_extra is None:
        return data
    # Contract v1.1 on the decomposition: the unfilled-order charges' w and rows.
    from omnistock.solvers.optimal.rated_decomp import with_charges

    return with_charges(compiled, data, order_mask)


@dataclass
class MilpAnswer:
    """A model's solution as a variable vector, with how it ended."""

    values: np.ndarray | None
    status: SolveStatus
    bound: float


def _solver_params(options: OptimalOptions, gap: float) -> str:
    if options.backend == "scip":
        # SCIP would swallow Ctrl-C (it stops the one MILP and the batch goes on).
        return (
            f"limits/gap = {gap!r}\nrandomization/randomseedshift = {options.seed}\n"
            "misc/catchctrlc = FALSE"
        )
    if options.backend == "highs":
        return (
            f"mip_rel_gap={gap!r}\nthreads={options.threads}\n"
            f"random_seed={options.seed}\noutput_flag=false"
        )
    return f"relative_gap_limit:{gap!r} num_workers:{options.threads} random_seed:{options.seed}"


def solve_milp(
    data: MilpData,
    options: OptimalOptions,
    time_limit: float,
    hint: np.ndarray | None,
) -> MilpAnswer:
    """Solve one MILP with the chosen back-end; never raises on a solver outcome."""
    from ortools.linear_solver.python import model_builder_helper as mbh
    from scipy.sparse import csr_matrix

    model: Any = mbh.ModelBuilderHelper()  # the stubs mistype numpy arguments
    matrix = csr_matrix(
        (data.a_val, data.a_col, data.a_indptr), shape=(data.lo.shape[0], data.n_vars)
    )
    model.fill_model_from_sparse_data(
        data.lb, data.ub, data.cost, data.lo, data.hi, matrix
    )
    for var in np.flatnonzero(data.integer).tolist():
        model.set_var_integrality(var, True)
    # HiGHS through OR-Tools 9.15 crashes on hints (docs/solvers.md): never give it one.
    if hint is not None and options.backend != "highs":
        for var, value in zip(range(data.n_vars), hint.tolist(), strict=True):
            model.add_hint(var, value)
    solver: Any = mbh.ModelSolverHelper(BACKEND_NAME[options.backend])
    solver.set_time_limit_in_seconds(max(time_limit, 0.01))
    solver.set_solver_specific_parameters(_solver_params(options, options.gap))
    solver.solve(model)
    status = solver.status()
    if status == mbh.SolveStatus.OPTIMAL:
        return MilpAnswer(
            solver.variable_values(), SolveStatus.OPTIMAL, solver.best_objective_bound()
        )
    if status == mbh.SolveStatus.FEASIBLE and solver.has_solution():
        bound = solver.best_objective_bound()
        return MilpAnswer(solver.variable_values(), SolveStatus.TIME_LIMIT, bound)
    return MilpAnswer(None, SolveStatus.TIME_LIMIT, -np.inf)
