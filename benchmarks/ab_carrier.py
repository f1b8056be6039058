"""Same-run A/B for contract v1.1 (issue 14): flat vs carrier costs, this tree vs another.

Run it once per tree, one after the other, on the same machine (docs/benchmarks.md):

    PYTHONPATH=$PWD/src python benchmarks/ab_carrier.py latency flat
    PYTHONPATH=/work/wt/baseline/src python benchmarks/ab_carrier.py latency flat
    PYTHONPATH=$PWD/src python benchmarks/ab_carrier.py latency carrier

``latency``: ``Sourcer.source`` on "large", 10,000 orders (seed 7), the best of 3
rounds by median, every call timed. ``batch``: ``solve(..., "greedy")`` on "large"
with N orders (default 100,000), orders/s over the best of 3 runs. ``optimal``:
``solve(..., "optimal", gap=0.01)`` on 10,000 "medium" orders, seconds and gap.
A tree without ``costs=`` (before v1.1) runs "flat" only.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from omnistock import Sourcer, samples, solve


def _network(name: str, costs: str):  # type: ignore[no-untyped-def]
    if costs == "flat":
        return samples.network(name, 0)
    return samples.network(name, 0, costs=costs)


def latency(costs: str) -> str:
    net = _network("large", costs)
    orders = samples.orders(net, 10_000, seed=7)
    sourcer = Sourcer(net)
    for order in orders[:200]:
        sourcer.source(order)
    best = None
    for _ in range(3):
        us = np.empty(len(orders))
        for i, order in enumerate(orders):
            start = time.perf_counter()
            sourcer.source(order)
            us[i] = (time.perf_counter() - start) * 1e6
        if best is None or np.median(us) < np.median(best):
            best = us
    assert best is not None
    return (
        f"latency large {costs}: median {np.median(best):.1f} us, "
        f"p99 {np.percentile(best, 99):.1f} us, max {best.max():.0f} us"
    )


def batch(costs: str, n: int) -> str:
    net = _network("large", costs)
    scenario = net.with_orders(samples.orders(net, n, seed=0))
    scenario.compiled()
    solve(net.with_orders(samples.orders(net, 50, seed=1)), solver="greedy")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        plan = solve(scenario, solver="greedy")
        times.append(time.perf_counter() - start)
    return (
        f"batch greedy large {costs} {n}: {n / min(times):,.0f} orders/s "
        f"(best {min(times):.2f} s), objective {plan.objective:,.2f}, "
        f"cost/order {plan.objective / n:.3f}"
    )


def optimal(costs: str) -> str:
    net = _network("medium", costs)
    scenario = net.with_orders(samples.orders(net, 10_000, seed=0))
    scenario.compiled()
    solve(net.with_orders(samples.orders(net, 50, seed=1)), solver="optimal")
    start = time.perf_counter()
    plan = solve(scenario, solver="optimal", gap=0.01, time_limit=180)
    seconds = time.perf_counter() - start
    greedy = solve(scenario, solver="greedy").objective
    return (
        f"optimal medium {costs} 10k: {seconds:.1f} s, status {plan.status.value}, "
        f"gap {plan.gap:.4%}, objective {plan.objective:,.2f}, greedy {greedy:,.2f}"
    )


if __name__ == "__main__":
    what, costs = sys.argv[1], sys.argv[2]
    if what == "latency":
        print(latency(costs), flush=True)
    elif what == "batch":
        print(
            batch(costs, int(sys.argv[3]) if len(sys.argv) > 3 else 100_000), flush=True
        )
    else:
        print(optimal(costs), flush=True)
