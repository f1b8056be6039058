"""The LP relaxation of a batch: its bound and the shadow price of stock and capacity.

``relax(scenario)`` solves the linear relaxation of the ``optimal`` solver's
fixed-charge model (docs/solvers.md) by column generation over packages, with a
row for every stock row, protected limit and finite capacity the batch touches,
and candidate bounds of ``min(qty, capacity)`` only, so that every stock limit
acts through its row and its dual holds its whole value.
The duals say what one more unit is worth: the look-ahead policy reads them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import polars as pl

from omnistock._kernels.cost import unfilled_cost
from omnistock.compiled import NO_LIMIT, CompiledScenario
from omnistock.compiled.rates import rated_batch
from omnistock.exceptions import InvalidArgument
from omnistock.model.scenario import Scenario
from omnistock.solvers.optimal.bounds import RowPrices, dual_prices
from omnistock.solvers.optimal.candidates import candidates
from omnistock.solvers.optimal.colgen import column_generation, initial_pairs
from omnistock.solvers.optimal.nested import nested_dual_frame, nested_lp
from omnistock.solvers.optimal.rated import relax_rated

__all__ = ["DUAL_SCHEMA", "Duals", "Relaxation", "relax", "relax_compiled"]

#: Columns and dtypes of ``Relaxation.duals``.
DUAL_SCHEMA: dict[str, pl.DataType] = {
    "node_id": pl.String(),
    "sku": pl.String(),
    "kind": pl.String(),
    "dual": pl.Float64(),
}


@dataclass(frozen=True, eq=False)
class Relaxation:
    """The LP relaxation of a batch.

    Attributes
    ----------
    bound
        A lower bound on the objective of every plan of the batch; the LP bound
        when ``converged``, else the better of the Lagrangian and line-split
        bounds (``solvers.bounds``).
    duals
        One row per constraint (``DUAL_SCHEMA``): ``kind`` is ``"stock"`` (all
        takes of a node-SKU row <= its free units), ``"protected"`` (non-exempt
        takes <= free minus last-unit protection; only rows with protection) or
        ``"capacity"`` (all takes of a node, ``sku`` null; only nodes with a
        capacity). ``dual >= 0`` is the cost saved per extra unit of that
        right-hand side (one more free unit, one less protected unit, one more
        unit of capacity), at the margin. Rows no order can use have dual 0.
    converged
        Column generation proved the LP optimum within the time limit.
    seconds
        Wall time.
    """

    bound: float
    duals: pl.DataFrame
    converged: bool
    seconds: float


def relax(
    scenario: Scenario, *, time_limit: float = 60.0, engine: str = "glop"
) -> Relaxation:
    """Solve the LP relaxation of the scenario's batch.

    Parameters
    ----------
    scenario
        The batch; compiled once and cached on it.
    time_limit
        Wall seconds for the LPs. When reached, ``bound`` is still valid (a
        Lagrangian bound) and ``converged`` is False.
    engine
        ``"glop"`` (OR-Tools) or ``"highs"`` (HiGHS dual simplex through scipy;
        faster on large batches, docs/solvers.md).

    Examples
    --------
    >>> from omnistock import Scenario, relax
    >>> s = Scenario.model_validate(
    ...     {
    ...         "nodes": [{"id": "W", "kind": "warehouse", "lat": 48.85, "lon": 2.35}],
    ...         "stock": [{"node": "W", "sku": "A", "on_hand": 1}],
    ...         "orders": [
    ...             {"id": f"o{i}", "destination": {"lat": 48.9, "lon": 2.4},
    ...              "lines": [{"sku": "A", "qty": 1}]}
    ...             for i in range(2)
    ...         ],
    ...     }
    ... )
    >>> r = relax(s)
    >>> r.duals.filter(kind="stock")["dual"].round(2).to_list()  # one unfilled unit
    [994.93]
    """
    start = time.perf_counter()
    compiled = scenario.compiled()
    duals = relax_compiled(compiled, time_limit=time_limit, engine=engine)
    frame = _dual_frame(compiled, duals.free, duals.limit, duals.capacity)
    if duals.nested is not None:  # v1.2: a dual per nested row, not per limit
        frame = nested_dual_frame(compiled, frame, *duals.nested)
    return Relaxation(
        bound=duals.bound,
        duals=frame,
        converged=duals.converged,
        seconds=time.perf_counter() - start,
    )


@dataclass(frozen=True, eq=False)
class Duals:
    """The LP bound of a compiled batch and its duals as arrays (``dual >= 0``).

    Attributes
    ----------
    bound
        Lower bound on every plan (the LP bound when ``converged``).
    converged
        Column generation proved the LP optimum in time.
    free, limit : float64[nnz]
        Per stock row: the all-takes and the protected-limit (non-exempt) duals.
    capacity : float64[n_nodes]
        Per node: the capacity dual (0 without a capacity).
    nested : (int64[k], int64[k], float64[k]) or None
        v1.2 only: the stock row, level and dual of each nested row (S4 v1.2);
        ``limit`` then holds each row's sum of them.
    """

    bound: float
    converged: bool
    free: np.ndarray
    limit: np.ndarray
    capacity: np.ndarray
    nested: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def relax_compiled(
    compiled: CompiledScenario, *, time_limit: float = 60.0, engine: str = "glop"
) -> Duals:
    """The LP relaxation of a compiled batch (the work of :func:`relax`).

    The look-ahead policy calls it on the stock a simulation has left.
    """
    if engine not in ("glop", "highs"):
        detail = f"engine must be one of glop, highs. Got engine={engine!r}."
        raise InvalidArgument(function="relax", argument="engine", detail=detail)
    net, orders = compiled.network, compiled.orders
    if net.levels.nested:  # contract v1.2: the whole LP with its nested rows
        bound, free, rows, levels, nested, capacity = nested_lp(compiled)
        limit = np.bincount(rows, weights=nested, minlength=free.size)
        return Duals(bound, True, free, limit, capacity, (rows, levels, nested))
    if rated_batch(net, orders):  # contract v1.1: the LP of the one exact model
        return _relax_rated(compiled, time_limit, engine)
    cand = candidates(compiled, stock_in_bound=False)
    has_cand = np.zeros(orders.n_orders, dtype=np.bool_)
    has_cand[orders.line_order[cand.line]] = True
    prices = RowPrices(
        split=np.zeros(orders.n_orders),
        free=np.zeros(net.stock_node.shape[0]),
        limit=np.zeros(net.stock_node.shape[0]),
        capacity=np.zeros(net.n_nodes),
    )
    unfillable = ~has_cand[orders.line_order]
    constant = float(
        np.sum(
            unfilled_cost(
                net.unfilled,
                orders.order_weight[orders.line_order[unfillable]],
                orders.line_qty[unfillable],
            )
        )
    )
    if has_cand.any():
        deadline = time.perf_counter() + time_limit
        cg = column_generation(
            compiled,
            cand,
            has_cand,
            initial_pairs(compiled, cand),
            deadline,
            deadline,
            engine,
            all_constraints=True,
        )
        # Stopped short, the line-split bound may be the tighter (solvers.bounds).
        lower, converged = max(cg.lower, cg.line_lower, 0.0), cg.converged
        if cg.data is not None and cg.lp is not None:
            prices = dual_prices(compiled, cg.data, cg.lp.duals)
    else:  # no LP to solve: every unit is unfilled
        lower, converged = 0.0, True
    return Duals(
        bound=lower + constant,
        converged=converged,
        free=prices.free,
        limit=prices.limit,
        capacity=prices.capacity,
    )


def _relax_rated(compiled: CompiledScenario, time_limit: float, engine: str) -> Duals:
    net = compiled.network
    bound, converged, prices = relax_rated(compiled, time_limit, engine)
    if prices is None:
        zero = np.zeros(net.stock_node.shape[0])
        return Duals(0.0, False, zero, zero.copy(), np.zeros(net.n_nodes))
    return Duals(bound, converged, prices.free, prices.limit, prices.capacity)


def _dual_frame(
    compiled: CompiledScenario,
    free_dual: np.ndarray,
    limit_dual: np.ndarray,
    cap_dual: np.ndarray,
) -> pl.DataFrame:
    net = compiled.network
    sku_of_row = np.repeat(np.arange(net.n_skus), np.diff(net.stock_indptr))
    protected = np.flatnonzero(net.stock_limit < net.stock_free)
    capped = np.flatnonzero(net.node_capacity < NO_LIMIT)
    rows = np.arange(net.stock_node.shape[0])
    frames = [
        pl.DataFrame(
            {
                "node_id": net.node_ids[net.stock_node[idx]],
                "sku": net.sku_ids[sku_of_row[idx]],
                "kind": np.full(idx.size, kind),
                "dual": np.maximum(dual[idx], 0.0),  # clip solver noise below 0
            },
            schema=DUAL_SCHEMA,
        )
        for idx, kind, dual in (
            (rows, "stock", free_dual),
            (protected, "protected", limit_dual),
        )
    ]
    frames.append(
        pl.DataFrame(
            {
                "node_id": net.node_ids[capped],
                "sku": [None] * capped.size,
                "kind": ["capacity"] * capped.size,
                "dual": np.maximum(cap_dual[capped], 0.0),
            },
            schema=DUAL_SCHEMA,
        )
    )
    return pl.concat(frames)
