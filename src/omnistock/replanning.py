"""Re-planning: re-optimise allocated but unreleased orders and emit the moves that save money.

After Xu, Allgor & Graves (2009): decisions made on the fly are re-evaluated before
release. ``replan`` keeps the released (``frozen``) orders as they are, solves the
others again against the stock the frozen ones leave, and returns the new plan only
where it saves at least ``min_saving``; with ``max_moves`` it keeps whole exchange
groups of changed orders (``_limit_moves``), the most saving per move first.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from omnistock import solvers
from omnistock.compiled import NO_LIMIT, CompiledScenario, StockState
from omnistock.compiled.allocations import (
    Triples,
    allocation_triples,
    order_costs,
    stock_rows,
)
from omnistock.compiled.lockers import order_lockers
from omnistock.exceptions import InvalidArgument, OmnistockError
from omnistock.model.scenario import Scenario
from omnistock.plan import Plan
from omnistock.solvers.base import Solution
from omnistock.solvers.sequential import solve_orders, take_units
from omnistock.solving import validate_options

__all__ = ["MOVE_SCHEMA", "Replan", "apply_moves", "replan"]

#: Columns of ``Replan.moves``: from_node null = newly filled, to_node null = dropped.
MOVE_SCHEMA: dict[str, Any] = {
    "order_id": pl.String,
    "sku": pl.String,
    "from_node": pl.String,
    "to_node": pl.String,
    "qty": pl.Int64,
}


@dataclass(frozen=True)
class Replan:
    """The result of :func:`replan`.

    Attributes
    ----------
    plan
        The new plan (the old one, unchanged, when nothing saves enough).
    moves
        ``MOVE_SCHEMA`` rows; applying them to the old plan gives the new one.
    saving
        Old objective minus new objective (>= 0).
    """

    plan: Plan
    moves: pl.DataFrame
    saving: float


def _frozen_mask(compiled: CompiledScenario, frozen: Any) -> np.ndarray:
    ids = compiled.orders.order_ids
    if frozen is None:
        return np.zeros(ids.shape[0], dtype=np.bool_)
    if isinstance(frozen, pl.DataFrame):
        frozen = frozen["order_id"]
    wanted = set(frozen.to_list() if isinstance(frozen, pl.Series) else frozen)
    unknown = wanted - set(ids.tolist())
    if unknown:
        msg = f"frozen names order(s) not in the scenario: {sorted(unknown)[:5]}."
        raise OmnistockError(msg)
    return np.isin(ids, np.array(sorted(wanted), dtype=ids.dtype))


def _moves(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Pair each line's decreases with its increases: the moves from old to new."""
    keys = ["order_id", "sku", "node_id"]
    diff = (
        old.select(*keys, pl.col("qty").alias("old"))
        .join(
            new.select(*keys, pl.col("qty").alias("new")),
            on=keys,
            how="full",
            coalesce=True,
        )
        .with_columns(
            (pl.col("new").fill_null(0) - pl.col("old").fill_null(0)).alias("d")
        )
        .filter(pl.col("d") != 0)
        .sort(keys)
    )
    rows: list[tuple[str, str, str | None, str | None, int]] = []
    for (order_id, sku), group in diff.group_by(
        ["order_id", "sku"], maintain_order=True
    ):
        takes = [
            (n, -d)
            for n, d in group.filter(pl.col("d") < 0).select("node_id", "d").iter_rows()
        ]
        gives = [
            (n, d)
            for n, d in group.filter(pl.col("d") > 0).select("node_id", "d").iter_rows()
        ]
        i = j = 0
        while i < len(takes) and j < len(gives):
            q = min(takes[i][1], gives[j][1])
            rows.append((str(order_id), str(sku), takes[i][0], gives[j][0], q))
            takes[i] = (takes[i][0], takes[i][1] - q)
            gives[j] = (gives[j][0], gives[j][1] - q)
            i += takes[i][1] == 0
            j += gives[j][1] == 0
        rows.extend(
            (str(order_id), str(sku), n, None, q) for n, q in takes[i:] if q > 0
        )
        rows.extend(
            (str(order_id), str(sku), None, n, q) for n, q in gives[j:] if q > 0
        )
    return pl.DataFrame(rows, schema=MOVE_SCHEMA, orient="row")


def apply_moves(allocations: pl.DataFrame, moves: pl.DataFrame) -> pl.DataFrame:
    """The allocation frame after the moves, sorted by order, SKU and node."""
    keys = ["order_id", "sku", "node_id"]
    minus = moves.filter(pl.col("from_node").is_not_null()).select(
        "order_id",
        "sku",
        pl.col("from_node").alias("node_id"),
        (-pl.col("qty")).alias("qty"),
    )
    plus = moves.filter(pl.col("to_node").is_not_null()).select(
        "order_id", "sku", pl.col("to_node").alias("node_id"), "qty"
    )
    return (
        pl.concat([allocations.select(*keys, "qty"), minus, plus])
        .group_by(keys)
        .agg(pl.col("qty").sum())
        .filter(pl.col("qty") != 0)
        .sort(keys)
    )


def replan(
    scenario: Scenario,
    plan: Plan,
    *,
    frozen: Iterable[str] | pl.Series | pl.DataFrame | None = None,
    max_moves: int | None = None,
    min_saving: float = 0.0,
    solver: str = "optimal",
    executor: Executor | None = None,
    **options: Any,
) -> Replan:
    """Re-optimise the orders of ``plan`` that are not ``frozen``.

    Parameters
    ----------
    scenario
        The scenario the plan was made for.
    plan
        The current plan; it must pass ``plan.check(scenario)``.
    frozen
        Order ids already released (their allocations stay as they are).
    max_moves
        At most this many move rows. At least the unlimited result's count gives
        the unlimited result; fewer keep whole exchange groups (changed orders
        that share a stock row or a capacity node), the most saving per move row
        first: any set of whole groups is feasible, and never worse than ``plan``.
    min_saving
        Return the old plan unless the new one saves at least this much.
    solver, **options
        The solver that re-optimises (``optimal`` by default) and its options.
    executor
        None: in process; else the orders not frozen are solved component by
        component on it, as ``solve(..., executor=)`` does.

    Returns
    -------
    Replan
        Never worse than ``plan``: ``saving >= 0``.
    """
    if max_moves is not None and max_moves < 0:
        detail = f"max_moves must be >= 0. Got max_moves={max_moves}."
        raise InvalidArgument(function="replan", argument="max_moves", detail=detail)
    if executor is not None:
        from omnistock.scale.executors import check_executor

        check_executor(executor, "replan")
    impl = solvers.get(solver)
    opts = validate_options(solver, options)
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    old_line, old_node, old_qty = allocation_triples(compiled, plan.allocations)
    old_plan = Plan.from_solution(
        compiled, Solution(old_line, old_node, old_qty), solver=plan.solver
    )

    fixed = _frozen_mask(compiled, frozen)
    keep = fixed[orders.line_order[old_line]]
    state = StockState.from_network(net)
    take_units(state, compiled, (old_line[keep], old_node[keep], old_qty[keep]))
    if np.any(state.free < 0) or np.any(state.limit < 0) or np.any(state.capacity < 0):
        msg = "the frozen orders of the plan take more than the scenario holds: check the plan first."
        raise OmnistockError(msg)
    if executor is None:
        done = solve_orders(compiled, np.flatnonzero(~fixed), impl, opts, state)
    else:
        from omnistock.scale.partition import solve_partitioned

        done = solve_partitioned(
            compiled, np.flatnonzero(~fixed), impl, opts, executor, state
        )
    sol = done.solution
    new_line = np.concatenate([old_line[keep], done.triples[0]])
    new_node = np.concatenate([old_node[keep], done.triples[1]])
    new_qty = np.concatenate([old_qty[keep], done.triples[2]])

    if max_moves is not None:
        new_line, new_node, new_qty = _limit_moves(
            compiled,
            (old_line, old_node, old_qty),
            (new_line, new_node, new_qty),
            max_moves,
        )
    new_plan = Plan.from_solution(
        compiled,
        Solution(new_line, new_node, new_qty, status=sol.status),
        solver=f"replan[{solver}]",
    )
    saving = old_plan.objective - new_plan.objective
    if saving < max(min_saving, 0.0) or saving <= 0.0:
        return Replan(plan=old_plan, moves=pl.DataFrame(schema=MOVE_SCHEMA), saving=0.0)
    return Replan(
        plan=new_plan,
        moves=_moves(old_plan.allocations, new_plan.allocations),
        saving=saving,
    )


def _limit_moves(
    compiled: CompiledScenario, old: Triples, new: Triples, max_moves: int
) -> Triples:
    """The new plan's changes in whole exchange groups, best saving per move first.

    Switching one changed order alone is often infeasible: it takes the unit that
    another changed order gave up (greedy plans are improved by such chains, and
    half the changed orders then cost more). Changed orders that share a stock
    row, a node with a capacity, or a limited locker form one exchange group (connected
    components). Every resource a group touches is touched by no other changed
    order, and both the old and the new plan are feasible, so switching any set
    of whole groups is feasible too. Groups of positive saving are taken by
    saving per move row, largest first, while they fit ``max_moves``; a group
    that does not fit is passed over for smaller ones. When every move fits, the
    new plan is returned as it is.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    net, orders = compiled.network, compiled.orders
    moves = _moves(_frame(compiled, old), _frame(compiled, new))
    if moves.height <= max_moves:
        return new
    index = {str(o): i for i, o in enumerate(orders.order_ids)}
    n_moves = np.zeros(orders.n_orders, dtype=np.int64)
    for order_id, count in moves.group_by("order_id").len().iter_rows():
        n_moves[index[order_id]] = count
    changed = n_moves > 0

    # Bipartite graph: changed orders -- the stock rows and capacity nodes they use.
    line = np.concatenate([old[0], new[0]])
    node = np.concatenate([old[1], new[1]])
    owner = orders.line_order[line]
    keep = changed[owner]
    line, node, owner = line[keep], node[keep], owner[keep]
    rows = stock_rows(net, orders.line_sku[line], node)
    capped = net.node_capacity[node] < NO_LIMIT
    nnz = net.stock_node.shape[0]
    # S11: orders at one limited locker share its parcels (a locker holds no
    # stock, so its index never collides with a capacity node's here).
    locker = order_lockers(compiled)[owner]
    at = locker >= 0
    resource = np.concatenate([rows, nnz + node[capped], nnz + locker[at]])
    who = np.concatenate([owner, owner[capped], owner[at]])
    size = orders.n_orders + nnz + net.n_nodes
    graph = coo_matrix(
        (np.ones(who.shape[0]), (who, orders.n_orders + resource)), shape=(size, size)
    )
    _, label = connected_components(graph, directed=False)
    label = label[: orders.n_orders]

    saving = order_costs(compiled, old) - order_costs(compiled, new)
    groups = np.unique(label[changed])
    group_saving = np.bincount(label, weights=np.where(changed, saving, 0.0))[groups]
    group_moves = np.bincount(label, weights=n_moves)[groups].astype(np.int64)
    chosen_groups: list[int] = []
    budget = max_moves
    for g in np.lexsort((groups, -group_saving / group_moves)).tolist():
        if group_saving[g] > 0 and group_moves[g] <= budget:
            chosen_groups.append(int(groups[g]))
            budget -= int(group_moves[g])
    chosen = changed & np.isin(label, chosen_groups)
    take_old = ~chosen[orders.line_order[old[0]]]
    take_new = chosen[orders.line_order[new[0]]]
    return (
        np.concatenate([old[0][take_old], new[0][take_new]]),
        np.concatenate([old[1][take_old], new[1][take_new]]),
        np.concatenate([old[2][take_old], new[2][take_new]]),
    )


def _frame(compiled: CompiledScenario, triples: Triples) -> pl.DataFrame:
    return Plan.from_solution(compiled, Solution(*triples)).allocations
