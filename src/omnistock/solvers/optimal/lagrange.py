"""A Lagrangian bound and a priced incumbent for a component too large to list.

The optimal model of a component needs its candidates (32 bytes each and more in
copies); "large" at 1,000,000 orders is one component of 512 M of them. Here the
component is never listed. Its bound relaxes the constraints orders share with
prices ``p >= 0`` (a row's free units, a row's protected limit for non-exempt
orders, a node's capacity):

    L(p) = sum over orders of min over the order's plans of (cost + p . units)
           - p . (free units, protected limits, capacities)

Every plan of the batch satisfies the shared constraints, so its cost is at least
``L(p)`` (weak duality); an order's minimum is its own exact decision against the
initial stock with priced units (``_kernels.lagrange``), so every order keeps
every rule of its own (ship-complete, max splits, eligibility, its tier's
protection, a locker's parcels). A partial pass is a bound too (an order's
minimum is >= 0). Prices are searched by subgradient steps on an estimate of
``L`` from a random sample of the orders (cheap); the bound is then one full
pass at the best prices found.

The incumbent is the greedy plan of the batch restricted to the component, or
greedy with the prices as look-ahead costs (``decide_batch`` with ``row_cost``)
when that is cheaper.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omnistock._kernels.codes import POLICY_GREEDY
from omnistock._kernels.lagrange import priced_orders
from omnistock.compiled import NO_LIMIT, CompiledScenario, StockState
from omnistock.compiled.lockers import order_lockers
from omnistock.solvers.greedy import run_batch
from omnistock.solvers.optimal.candidates import CHUNK_ORDERS
from omnistock.solvers.optimal.incumbents import objective_of, triples_of

__all__ = [
    "SAMPLE_ORDERS",
    "LagrangeResult",
    "Prices",
    "lagrangian_bound",
    "search_prices",
    "solve_lagrangian",
]

#: Orders of the random sample on which prices are searched.
SAMPLE_ORDERS = 20_000
# Share of the time left for the price search (at least _MIN_SEARCH_SECONDS),
# and the most subgradient steps it takes.
_SEARCH_SHARE = 0.3
_MIN_SEARCH_SECONDS = 5.0
_MAX_STEPS = 200
# Each step aims this share of the way from the best estimate to the incumbent,
# and its length halves after _PATIENCE steps without progress.
_AIM = 0.1
_PATIENCE = 5


@dataclass
class Prices:
    """Prices ``>= 0`` of the shared constraints: per row (free, limit), per node."""

    free: np.ndarray
    limit: np.ndarray
    capacity: np.ndarray

    @classmethod
    def zero(cls, compiled: CompiledScenario) -> Prices:
        """All prices 0: the bound of each order alone."""
        nnz, n_nodes = compiled.network.stock_node.shape[0], compiled.network.n_nodes
        return cls(np.zeros(nnz), np.zeros(nnz), np.zeros(n_nodes))


@dataclass
class Pass:
    """One pass over the orders: the bound and the units the decisions took."""

    bound: float
    complete: bool
    usage: tuple[np.ndarray, np.ndarray, np.ndarray]
    seconds: float


def _rhs(compiled: CompiledScenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shared constraints' right-hand sides (no row gives fewer than 0 units)."""
    net = compiled.network
    cap = np.where(net.node_capacity < NO_LIMIT, net.node_capacity, 0)
    return (
        np.maximum(net.stock_free, 0).astype(np.float64),
        np.maximum(net.stock_limit, 0).astype(np.float64),
        np.maximum(cap, 0).astype(np.float64),
    )


def _valid(compiled: CompiledScenario, prices: Prices) -> Prices:
    """``prices`` made valid: finite, >= 0, no price on an unlimited capacity.

    A locker's capacity counts parcels as well as units (S11): with orders at a
    limited locker the capacity prices are dropped, the weaker but plainly valid
    bound.
    """
    net = compiled.network
    cap = np.nan_to_num(np.maximum(prices.capacity, 0.0), posinf=0.0)
    cap[net.node_capacity >= NO_LIMIT] = 0.0
    if (order_lockers(compiled) >= 0).any():
        cap[:] = 0.0
    return Prices(
        np.nan_to_num(np.maximum(prices.free, 0.0), posinf=0.0),
        np.nan_to_num(np.maximum(prices.limit, 0.0), posinf=0.0),
        cap,
    )


def lagrangian_bound(
    compiled: CompiledScenario, prices: Prices, deadline: float = np.inf
) -> Pass:
    """``L(prices)`` for the batch, chunk by chunk; stops after the chunk past ``deadline``.

    Valid for any prices (they are made valid first): every plan of the batch
    costs at least the returned bound.
    """
    began = time.perf_counter()
    net, orders = compiled.network, compiled.orders
    p = _valid(compiled, prices)
    nnz = net.stock_node.shape[0]
    usage = (
        np.zeros(nnz, np.int64),
        np.zeros(nnz, np.int64),
        np.zeros(net.n_nodes, np.int64),
    )
    records = (net.record, StockState.of_network(net).record, orders.record)
    total, first = 0.0, 0
    while first < orders.n_orders:
        last = min(first + CHUNK_ORDERS, orders.n_orders)
        total += priced_orders(
            *records, (first, last), (p.free, p.limit, p.capacity), usage
        )
        first = last
        if time.perf_counter() > deadline:
            break
    free, limit, cap = _rhs(compiled)
    charge = float(p.free @ free + p.limit @ limit + p.capacity @ cap)
    return Pass(
        total - charge,
        first >= orders.n_orders,
        usage,
        time.perf_counter() - began,
    )


def _estimate(
    sample: CompiledScenario, scale: float, prices: Prices
) -> tuple[float, Pass]:
    """``L(prices)`` estimated from a random sample of the orders (unbiased).

    The sample's orders' minima are scaled by ``scale`` (orders / sampled) and
    so is their usage, the estimated subgradient; not a bound, a guide.
    """
    done = lagrangian_bound(sample, prices)
    free, limit, cap = _rhs(sample)
    p = _valid(sample, prices)
    charge = float(p.free @ free + p.limit @ limit + p.capacity @ cap)
    total = done.bound + charge
    usage = tuple(np.rint(u * scale).astype(np.int64) for u in done.usage)
    estimate = total * scale - charge
    return estimate, Pass(estimate, True, usage, done.seconds)  # type: ignore[arg-type]


def search_prices(
    compiled: CompiledScenario, target: float, seed: int, deadline: float
) -> tuple[Prices, int]:
    """Prices that make ``L`` high, searched on a random sample of the orders.

    Starts from the best of no prices and the two shortage price vectors
    (``bounds.shortage_prices``: every row of a SKU whose demand exceeds its
    supply priced at one unit's unfilled cost), then takes projected
    subgradient steps (Polyak's length towards a level between the best
    estimate and ``target``, halved after steps without progress) on the sample's estimate until ``deadline``.
    Returns the prices and the steps taken.
    """
    from omnistock.solvers.optimal.bounds import shortage_prices

    orders = compiled.orders
    rng = np.random.default_rng(seed)
    n = min(SAMPLE_ORDERS, orders.n_orders)
    picked = np.sort(rng.choice(orders.n_orders, size=n, replace=False))
    sample = CompiledScenario(compiled.network, orders.take(picked)[0])
    scale = orders.n_orders / max(n, 1)
    everything = np.ones(orders.n_orders, dtype=np.bool_)
    starts = [Prices.zero(compiled)] + [
        Prices(s.free, s.limit, s.capacity)
        for s in shortage_prices(compiled, everything)
    ]
    tried = [(_estimate(sample, scale, p), p) for p in starts]
    (best_value, last), best = max(tried, key=lambda t: t[0][0])
    prices, length, stalled, steps = best, 1.0, 0, 0
    while time.perf_counter() < deadline and steps < _MAX_STEPS:
        aim = best_value + _AIM * (target - best_value)
        prices = _step(compiled, prices, last, aim, length)
        value, last = _estimate(sample, scale, prices)
        steps += 1
        if value > best_value:
            best_value, best, stalled = value, prices, 0
        else:
            stalled += 1
            if stalled >= _PATIENCE:
                length, stalled = length / 2, 0
    return best, steps


@dataclass
class LagrangeResult:
    """The component's plan (triples of its own lines), its bound and what ran."""

    triples: np.ndarray
    objective: float
    bound: float
    info: dict[str, Any] = field(default_factory=dict)


def _step(
    compiled: CompiledScenario,
    prices: Prices,
    done: Pass,
    target: float,
    length: float = 1.0,
) -> Prices:
    """A projected subgradient step towards ``target`` (Polyak's step length)."""
    free, limit, cap = _rhs(compiled)
    use_all, use_limit, use_cap = done.usage
    grads = [use_all - free, use_limit - limit, use_cap - cap]
    olds = [prices.free, prices.limit, prices.capacity]
    # A price at 0 whose constraint is slack stays at 0: no move that way.
    grads = [
        np.where((p <= 0) & (g < 0), 0.0, g) for p, g in zip(olds, grads, strict=True)
    ]
    norm = sum(float(g @ g) for g in grads)
    if norm <= 0.0 or target <= done.bound:
        return prices
    t = length * (target - done.bound) / norm
    new = [np.maximum(p + t * g, 0.0) for p, g in zip(olds, grads, strict=True)]
    return _valid(compiled, Prices(*new))


def solve_lagrangian(
    compiled: CompiledScenario, warm: np.ndarray, seed: int, deadline: float
) -> LagrangeResult:
    """A plan no worse than ``warm`` and a valid bound, no candidate listed.

    ``warm`` (triples over ``compiled``'s lines) is a feasible plan of the batch
    (greedy's). Prices are searched on a sample for part of the time left
    (:func:`search_prices`); then one full pass gives the bound (it always
    completes). Greedy priced by them runs when its pass fits before
    ``deadline`` (``time.perf_counter()``).
    """
    objective = objective_of(compiled, warm)
    left = deadline - time.perf_counter()
    prices, steps = search_prices(
        compiled,
        objective,
        seed,
        time.perf_counter() + max(_SEARCH_SHARE * left, _MIN_SEARCH_SECONDS),
    )
    done = lagrangian_bound(compiled, prices)
    info: dict[str, Any] = {"lagrangian_passes": 1, "lagrangian_steps": steps}
    if time.perf_counter() + done.seconds < deadline:
        row_node = compiled.network.stock_node
        exempt = prices.free + prices.capacity[row_node]
        priced = run_batch(
            compiled, POLICY_GREEDY, np.concatenate([exempt + prices.limit, exempt])
        )
        triples = triples_of(priced)
        cost = objective_of(compiled, triples)
        info["lagrangian_priced_greedy"] = cost
        if cost < objective:
            warm, objective = triples, cost
    return LagrangeResult(warm, objective, min(max(done.bound, 0.0), objective), info)
