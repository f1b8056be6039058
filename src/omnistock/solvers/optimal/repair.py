"""Repair of a feasible plan: fill what it left unfilled, cheapest unit first.

Used by the ``optimal`` solver on its incumbents (LP-guided plan, warm start).
Stock and protection go through ``_kernels.protection`` like every solver.
"""

from __future__ import annotations

import numpy as np

from omnistock._kernels.records import Packages
from omnistock._kernels.repair import fill_short
from omnistock.compiled import CompiledScenario, StockState
from omnistock.solvers.optimal.candidates import Candidates

__all__ = ["complete"]


def complete(
    compiled: CompiledScenario,
    cand: Candidates,
    triples: np.ndarray,
    order_mask: np.ndarray,
) -> np.ndarray:
    """Fill what a feasible plan left unfilled in ``order_mask``, cheapest unit first.

    ``triples`` is a plan of these orders (triples of other orders are ignored).
    Each short line takes, while it lowers the cost, the candidate with the least
    cost per unit (unit cost, plus the package cost spread over the units when the
    package is new and the split limit allows one); an all-or-nothing order left
    short gives all its units back.
    """
    net, orders = compiled.network, compiled.orders
    # Only the candidates of ``order_mask`` (still grouped by line): a small model
    # of a huge batch must not sort them all.
    c = np.flatnonzero(order_mask[orders.line_order[cand.line]])
    line = cand.line[c]
    x = np.zeros(c.shape[0], dtype=np.int64)
    triples = triples[order_mask[orders.line_order[triples[:, 0]]]]
    if triples.shape[0] and c.shape[0]:
        n_nodes = max(net.n_nodes, 1)
        key = line * n_nodes + cand.pair_node[cand.pair[c]]
        order = np.argsort(key)
        pos = np.searchsorted(key[order], triples[:, 0] * n_nodes + triples[:, 1])
        np.add.at(x, order[np.minimum(pos, order.size - 1)], triples[:, 2])
    packages = Packages(
        line,
        cand.row[c],
        cand.ub[c],
        cand.pair[c],
        cand.pair_order,
        cand.pair_node,
        cand.pair_cost,
    )
    fill_short(
        packages,
        net.record,
        StockState.of_network(net).record,
        orders.record,
        order_mask,
        x,
    )
    keep = np.flatnonzero(x > 0)
    return np.stack([line[keep], cand.pair_node[cand.pair[c[keep]]], x[keep]], axis=1)
