"""Compile time: ``compile_scenario`` on "large" with 100,000 orders (target < 10 s).

Baselines in the same run: the same batch on "medium" (50x fewer stock rows), the
network alone, and the time to build the inputs with ``omnistock.samples``.
``compile_scenario`` is called directly because ``Scenario.compiled()`` caches.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cases import case
from omnistock import Order, Scenario, samples
from omnistock.compiled import compile_network, compile_scenario

TARGET_S = 10.0


@pytest.mark.parametrize("case_id", ["large-100k", "medium-100k"])
def test_compile_scenario(
    benchmark: BenchmarkFixture,
    case_scenario: Callable[[str], Scenario],
    case_id: str,
) -> None:
    scenario = case_scenario(case_id)
    compiled = benchmark.pedantic(
        compile_scenario, args=(scenario,), rounds=3, iterations=1
    )
    net, orders = compiled.network, compiled.orders
    benchmark.extra_info.update(
        n_nodes=net.n_nodes,
        n_skus=net.n_skus,
        stock_rows=int(net.stock_node.size),
        n_orders=orders.n_orders,
        n_lines=orders.n_lines,
    )
    assert orders.n_orders == case(case_id).n_orders
    assert benchmark.stats.stats.median < TARGET_S


def test_compile_network_large(
    benchmark: BenchmarkFixture, large_network: Scenario
) -> None:
    compiled = benchmark.pedantic(
        compile_network, args=(large_network,), rounds=3, iterations=1
    )
    benchmark.extra_info["stock_rows"] = int(compiled.stock_node.size)


def test_build_large_network(benchmark: BenchmarkFixture) -> None:
    net = benchmark.pedantic(samples.network, args=("large",), rounds=2, iterations=1)
    benchmark.extra_info["stock_rows"] = len(net.stock)


def test_draw_100k_orders(benchmark: BenchmarkFixture, large_network: Scenario) -> None:
    batch = benchmark.pedantic(
        samples.orders, args=(large_network, 100_000), rounds=2, iterations=1
    )
    assert len(batch) == 100_000


def test_attach_100k_orders(
    benchmark: BenchmarkFixture,
    large_network: Scenario,
    order_batch: Callable[..., list[Order]],
) -> None:
    batch = order_batch("large", 100_000)
    scenario = benchmark.pedantic(
        large_network.with_orders, args=(batch,), rounds=2, iterations=1
    )
    assert len(scenario.orders) == 100_000
