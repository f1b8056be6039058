"""Same-run A/B of the hot paths issue 16 touched; one JSON line per run.

Run it once per tree, alternating (docs/benchmarks.md, 2026-12-01)::

    NUMBA_CACHE_DIR=/tmp/nbc PYTHONPATH=/work/wt/baseline/src python benchmarks/protection_ab.py hot base
    PYTHONPATH=$PWD/src python benchmarks/protection_ab.py hot protect
    PYTHONPATH=$PWD/src python benchmarks/protection_ab.py pool protect

``hot``: ``Sourcer.source`` on "large" (median and p99 of 5,000 orders after 300
warm-up) and ``solve(..., solver="greedy")`` of 10,000 "large" orders (min and
median of 7 after a warm-up). ``pool``: 20,000 one-line reserve + release pairs on
"medium", journal off (min and median of 5).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from omnistock import Sourcer, StockPool, samples, solve


def hot(tree: str) -> dict[str, object]:
    """Sourcer latency and batch greedy on "large"."""
    net = samples.network("large", seed=0)
    orders = samples.orders(net, 10_000, seed=7)
    sourcer = Sourcer(net)
    for order in orders[:300]:
        sourcer.source(order)
    lat = np.empty(5000)
    for i, order in enumerate(orders[:5000]):
        began = time.perf_counter()
        sourcer.source(order)
        lat[i] = time.perf_counter() - began
    batch = net.with_orders(orders)
    solve(batch, solver="greedy")
    times = []
    for _ in range(7):
        began = time.perf_counter()
        plan = solve(batch, solver="greedy")
        times.append(time.perf_counter() - began)
    times.sort()
    return {
        "tree": tree,
        "median_us": float(np.median(lat) * 1e6),
        "p99_us": float(np.percentile(lat, 99) * 1e6),
        "greedy_10k_s_min": times[0],
        "greedy_10k_s_median": times[3],
        "objective": plan.objective,
    }


def pool(tree: str) -> dict[str, object]:
    """Reserve + release pairs on "medium", journal off."""
    net = samples.network("medium", seed=0)
    live = StockPool.from_scenario(net)
    rows = [
        (r.node, r.sku)
        for r in net.stock
        if r.on_hand - r.reserved - r.safety_stock > 2
    ][:20_000]

    def run() -> float:
        began = time.perf_counter()
        for i, (node, sku) in enumerate(rows):
            res = live.reserve(f"o{i}", [(node, sku, 1)])
            live.release(res.reservation_id)
        return time.perf_counter() - began

    run()
    times = sorted(run() for _ in range(5))
    return {"tree": tree, "pairs": len(rows), "min_s": times[0], "median_s": times[2]}


if __name__ == "__main__":
    what, tree = sys.argv[1], sys.argv[2]
    print(json.dumps(hot(tree) if what == "hot" else pool(tree)))
