"""In-process hot path for same-run A/B runs: reserve+commit pairs/s, source_and_commit latency.

Run against two trees, alternating (issue 18's A/B against main)::

    PYTHONPATH=/work/wt/baseline/src /work/venv/bin/python benchmarks/inprocess_pairs.py
    PYTHONPATH=$PWD/src /work/venv/bin/python benchmarks/inprocess_pairs.py

"medium" with plenty of stock and no capacity limit: 100,000 one-unit pairs on
random rows, then 5,000 ``Sourcer.source_and_commit`` on the pool.
"""

from __future__ import annotations

import time

import numpy as np

import omnistock
from omnistock import Scenario, Sourcer, StockPool, samples


def main() -> None:
    data = samples.network("medium", 0).model_dump(mode="json")
    for rec in data["stock"]:
        rec.update(on_hand=10**9, reserved=0, safety_stock=0)
    for node in data["nodes"]:
        node["capacity"] = None
    sc = Scenario.model_validate(data)
    lines = [(r.node, r.sku) for r in sc.stock]
    pool = StockPool.from_scenario(sc)
    pick = np.random.default_rng(0).integers(len(lines), size=100_000)
    t0 = time.perf_counter()
    for i in pick:
        node, sku = lines[i]
        pool.commit(pool.reserve("o", [(node, sku, 1)]).reservation_id)
    pairs = len(pick) / (time.perf_counter() - t0)
    sourcer = Sourcer(sc, pool=pool)
    orders = samples.orders(sc, 5000, seed=3)
    for order in orders[:100]:  # load the kernels
        sourcer.source(order)
    lat = []
    for order in orders:
        t = time.perf_counter()
        sourcer.source_and_commit(order)
        lat.append(time.perf_counter() - t)
    us = np.array(lat) * 1e6
    print(
        f"{omnistock.__file__}: pairs/s {pairs:,.0f}; source_and_commit median "
        f"{np.median(us):.1f} us p99 {np.percentile(us, 99):.1f} us"
    )


if __name__ == "__main__":
    main()
