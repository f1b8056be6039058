"""The optimal solver on a v1.2 scenario: one MILP with the nested rows of S4 v1.2.

The decomposition of :mod:`.solver` (components, flows, column generation, repair)
reads v1's one protected limit per row. A scenario with a ``protection`` table
is solved here instead, whole: the candidates and the fixed-charge MILP of
:mod:`.milp` are built on the network with every limit lifted to the free units
(a relaxation, so every bound stays valid), then one row per stock row and
distinct protected level ``L > 0`` of the batch's tier classes is added,
``sum of x of orders whose level is >= L <= max(0, free - L)``
(docs/semantics.md, S4 v1.2). The greedy plan (which obeys the nested rule) is
the warm start and the fallback; the bound is the back-end's.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import polars as pl

from omnistock.compiled import CompiledScenario
from omnistock.compiled.nesting import order_classes
from omnistock.compiled.rates import rated_batch
from omnistock.solvers.base import Solution
from omnistock.solvers.optimal.candidates import Candidates, candidates
from omnistock.solvers.optimal.colgen import decode, triples_to_vector
from omnistock.solvers.optimal.incumbents import (
    objective_of,
    triples_of,
    warm_start_solution,
)
from omnistock.solvers.optimal.milp import MilpData, build_milp, solve_milp
from omnistock.solvers.optimal.options import OptimalOptions
from omnistock.solvers.optimal.rated import with_rate_terms
from omnistock.solvers.optimal.status import settle

__all__ = [
    "nested_dual_frame",
    "nested_lp",
    "nested_rows",
    "relaxed",
    "solve_nested",
    "with_nested_rows",
]


def relaxed(compiled: CompiledScenario) -> CompiledScenario:
    """The batch on the network whose protected limits are its free units."""
    net = compiled.network
    return CompiledScenario(
        net.with_stock(limit=net.stock_free, head=net.head), compiled.orders
    )


def nested_rows(
    compiled: CompiledScenario, cand: Candidates, data: MilpData
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The nested rows over ``data``'s x: (row of A, column of x, stock row, level, rhs).

    One row per (stock row, distinct level ``L > 0`` among the batch's classes
    on it) with a candidate whose class protects at least ``L``; its rhs is the
    head of that level (``max(0, free - L)`` before any take).
    """
    net, orders = compiled.network, compiled.orders
    level, head = net.stock_level, net.head
    classes = order_classes(compiled)
    present = np.unique(classes)
    x_row = cand.row[data.cand]
    x_level = level[x_row, classes[orders.line_order[cand.line[data.cand]]]]
    r_idx: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    stock_rows: list[int] = []
    levels: list[int] = []
    rhs: list[float] = []
    by_row = np.argsort(x_row, kind="stable")
    bounds = np.searchsorted(x_row[by_row], np.unique(x_row))
    for k, r in enumerate(np.unique(x_row).tolist()):
        end = bounds[k + 1] if k + 1 < bounds.size else by_row.size
        on_row = by_row[bounds[k] : end]
        for lv in np.unique(level[r, present]).tolist():
            members = on_row[x_level[on_row] >= lv]
            if lv <= 0 or members.size == 0:
                continue  # level 0 is S2: build_milp's free row
            c = int(np.flatnonzero(level[r] == lv)[0])
            r_idx.append(np.full(members.size, len(rhs), dtype=np.int64))
            cols.append(members)
            stock_rows.append(r)
            levels.append(lv)
            rhs.append(float(head[r, c]))
    empty = np.zeros(0, dtype=np.int64)
    return (
        np.concatenate(r_idx) if r_idx else empty,
        np.concatenate(cols) if cols else empty,
        np.asarray(stock_rows, dtype=np.int64),
        np.asarray(levels, dtype=np.int64),
        np.asarray(rhs, dtype=np.float64),
    )


def with_nested_rows(
    compiled: CompiledScenario, cand: Candidates, data: MilpData
) -> tuple[MilpData, np.ndarray, np.ndarray]:
    """``data`` with the nested rows appended; their stock rows and levels."""
    r_idx, cols, rows, levels, rhs = nested_rows(compiled, cand, data)
    n_old = data.lo.shape[0]
    old_r = np.repeat(np.arange(n_old), np.diff(data.a_indptr))
    r = np.concatenate([old_r, n_old + r_idx])
    col = np.concatenate([data.a_col, cols])
    val = np.concatenate([data.a_val, np.ones(cols.size)])
    n_rows = n_old + rhs.size
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
    order = np.argsort(r, kind="stable")
    out = dataclasses.replace(
        data,
        a_indptr=indptr,
        a_col=col[order].astype(np.int64),
        a_val=val[order].astype(np.float64),
        lo=np.concatenate([data.lo, np.full(rhs.size, -np.inf)]),
        hi=np.concatenate([data.hi, rhs]),
    )
    return out, rows, levels


def solve_nested(compiled: CompiledScenario, options: OptimalOptions) -> Solution:
    """The batch's optimum under S4 v1.2 (see the module docstring)."""
    start = time.perf_counter()
    loose = relaxed(compiled)
    cand = candidates(loose)
    everyone = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    base = build_milp(loose, cand, everyone, lockers=True)  # S11 rows too
    if rated_batch(compiled.network, compiled.orders):  # v1.1 costs too
        base = with_rate_terms(compiled, cand, base, everyone)
    data, _, _ = with_nested_rows(compiled, cand, base)
    warm_sol = warm_start_solution(compiled) if options.warm_start else None
    warm = triples_of(warm_sol) if warm_sol is not None else None
    hint = None if warm is None else triples_to_vector(compiled, cand, data, warm)
    left = options.time_limit - (time.perf_counter() - start)
    answer = solve_milp(data, options, left, hint)
    best: np.ndarray | None = None
    if answer.values is not None:
        best = decode(cand, data, np.asarray(answer.values))
    if best is None or (
        warm is not None and objective_of(compiled, warm) < objective_of(compiled, best)
    ):
        best = warm if warm is not None else np.zeros((0, 3), dtype=np.int64)
    objective = objective_of(compiled, best)
    bound = min(float(answer.bound), objective)
    status = settle(answer.status, objective, bound, options.gap)
    info: dict[str, Any] = {
        "backend": options.backend,
        "nested_rows": int(data.lo.shape[0]),
        "warm_start": warm is not None,
        "objective": objective,
        "seconds": time.perf_counter() - start,
    }
    return Solution(
        line_idx=best[:, 0].copy(),
        node_idx=best[:, 1].copy(),
        qty=best[:, 2].copy(),
        status=status,
        bound=bound,
        info=info,
    )


def nested_lp(
    compiled: CompiledScenario,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The LP relaxation of the nested MILP, every package a column (``relax``).

    Candidate bounds are ``min(qty, capacity)`` only, so the stock and nested
    rows carry their whole value. Returns ``(bound, free dual[nnz], nested stock
    rows, their levels, their duals, capacity dual[n_nodes])``, duals >= 0.
    """
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    net = compiled.network
    loose = relaxed(compiled)
    cand = candidates(loose, stock_in_bound=False)
    everyone = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    base = build_milp(loose, cand, everyone, all_constraints=True)
    data, rows, levels = with_nested_rows(compiled, cand, base)
    free = np.zeros(net.stock_node.shape[0])
    capacity = np.zeros(net.n_nodes)
    nested = np.zeros(rows.size)
    if data.n_vars == 0:
        return 0.0, free, rows, levels, nested, capacity
    a = csr_matrix(
        (data.a_val, data.a_col, data.a_indptr), shape=(data.lo.size, data.n_vars)
    )
    eq = data.lo == data.hi
    ub_rows = ~eq & np.isfinite(data.hi)
    lb_rows = ~eq & np.isfinite(data.lo)
    res = linprog(
        data.cost,
        A_ub=_stack(a[ub_rows], -a[lb_rows]),
        b_ub=np.concatenate([data.hi[ub_rows], -data.lo[lb_rows]]),
        A_eq=a[eq] if eq.any() else None,
        b_eq=data.hi[eq] if eq.any() else None,
        bounds=np.stack([data.lb, data.ub], axis=1),
        method="highs",
    )
    dual = np.zeros(data.lo.size)
    dual[np.flatnonzero(ub_rows)] = -res.ineqlin.marginals[: int(ub_rows.sum())]
    dual = np.maximum(dual, 0.0)
    first = data.first_stock_row
    n_stock = data.stock_rows.size
    kind0 = data.stock_kind == 0
    free[data.stock_rows[kind0]] = dual[first : first + n_stock][kind0]
    capacity[data.cap_nodes] = dual[
        first + n_stock : first + n_stock + data.cap_nodes.size
    ]
    nested = dual[base.lo.size :]
    return float(res.fun), free, rows, levels, nested, capacity


def _stack(top: Any, bottom: Any) -> Any:
    from scipy.sparse import vstack

    return vstack([top, bottom]).tocsr()


def nested_dual_frame(
    compiled: CompiledScenario,
    frame: pl.DataFrame,
    rows: np.ndarray,
    levels: np.ndarray,
    duals: np.ndarray,
) -> pl.DataFrame:
    """``relax``'s frame with one ``"protected>=L"`` row per nested row (S4 v1.2).

    v1's ``"protected"`` rows (one scalar limit per row) are replaced: kind
    ``"protected>=3"`` is the row "orders whose tier protects at least 3 units
    take at most free - 3".
    """
    net = compiled.network
    sku_of_row = np.repeat(np.arange(net.n_skus), np.diff(net.stock_indptr))
    nested = pl.DataFrame(
        {
            "node_id": net.node_ids[net.stock_node[rows]],
            "sku": net.sku_ids[sku_of_row[rows]],
            "kind": [f"protected>={lv}" for lv in levels.tolist()],
            "dual": np.maximum(duals, 0.0),
        },
        schema=frame.schema,
    )
    return pl.concat([frame.filter(pl.col("kind") != "protected"), nested])
