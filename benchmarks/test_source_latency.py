"""Sourcer.source latency per order: median and p99 over 10,000 sample orders.

Targets on "large" (2 cores): median <= 50 us, p99 <= 500 us. "medium" is the
same-run baseline. The Sourcer is built (and its kernels loaded) outside the timed
region; each round sources the same 10,000 orders against the untouched stock
(source() never changes it), timing every call with perf_counter. The "-carrier"
cases run the same orders' draw on the same networks with the contract v1.1 rate
cards (``samples.network(name, costs="carrier")``); select them with ``-k carrier``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from omnistock import Sourcer

N_ORDERS = 10_000


@pytest.mark.parametrize(
    "network_name", ["medium", "large", "medium-carrier", "large-carrier"]
)
def test_source_latency(benchmark, network_name, order_batch, sample_network):
    name, _, costs = network_name.partition("-")
    costs = costs or "flat"
    network = sample_network(name, costs)
    orders = order_batch(name, N_ORDERS, seed=7, costs=costs)
    sourcer = Sourcer(network)
    for order in orders[:200]:  # warm caches, not only the JIT
        sourcer.source(order)
    latencies = np.empty(N_ORDERS)

    def run() -> None:
        for i, order in enumerate(orders):
            start = time.perf_counter()
            sourcer.source(order)
            latencies[i] = time.perf_counter() - start

    benchmark.pedantic(run, rounds=3, iterations=1)
    us = latencies * 1e6  # the last round
    benchmark.extra_info.update(
        {
            "orders": N_ORDERS,
            "median_us": float(np.median(us)),
            "p90_us": float(np.percentile(us, 90)),
            "p99_us": float(np.percentile(us, 99)),
            "max_us": float(us.max()),
            "nodes": len(network.nodes),
        }
    )
    print(
        f"\n{network_name}: median {np.median(us):.1f} us, p90 {np.percentile(us, 90):.1f} us, "
        f"p99 {np.percentile(us, 99):.1f} us, max {us.max():.0f} us"
    )
