"""Session fixtures for the benchmarks: sample networks and seeded order batches.

Everything here is built once per session and outside any timed region. Plain
``pytest`` never collects this directory (``testpaths = ["tests"]``); run it with
``pytest benchmarks/... --benchmark-only`` (benchmarks/README.md).

Fixtures
--------
small_network, medium_network, large_network, us_network
    ``omnistock.samples.network(name, seed=0)``, no orders.
sample_network(name, costs="flat")
    ``samples.network(name, seed=0, costs=costs)``, no orders; cached.
order_batch(network_name, n, seed=0, costs="flat")
    ``samples.orders`` for the seed-0 network ``network_name``; cached.
case_scenario(case_id)
    The network of a case in ``cases.CASES`` with its orders; cached.
warm_up(solver, costs="flat")
    Solve a 50-order "small" scenario once with ``solver`` so that numba
    compiles its kernels before any timing; cached per solver and costs (the
    carrier costs run kernels of their own).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

import omnistock
from cases import case
from omnistock import Order, Scenario, samples


@cache
def _network(name: str, costs: str = "flat") -> Scenario:
    if costs == "flat":  # the call of the flat cases, unchanged
        return samples.network(name, seed=0)
    return samples.network(name, seed=0, costs=costs)


@cache
def _orders(name: str, n: int, seed: int, costs: str = "flat") -> tuple[Order, ...]:
    return tuple(samples.orders(_network(name, costs), n, seed=seed))


@cache
def _case_scenario(case_id: str) -> Scenario:
    c = case(case_id)
    network = _network(c.network, c.costs)
    return network.with_orders(_orders(c.network, c.n_orders, c.seed, c.costs))


@cache
def _warm(solver: str, costs: str = "flat") -> None:
    small = _network("small", costs)
    scenario = small.with_orders(samples.orders(small, 50, seed=99))
    omnistock.solve(scenario, solver=solver)


@pytest.fixture(scope="session")
def small_network() -> Scenario:
    return _network("small")


@pytest.fixture(scope="session")
def medium_network() -> Scenario:
    return _network("medium")


@pytest.fixture(scope="session")
def large_network() -> Scenario:
    return _network("large")


@pytest.fixture(scope="session")
def us_network() -> Scenario:
    return _network("us")


@pytest.fixture(scope="session")
def sample_network() -> Callable[..., Scenario]:
    """Factory: ``sample_network("large", costs="carrier")`` -> Scenario (cached)."""
    return _network


@pytest.fixture(scope="session")
def order_batch() -> Callable[..., list[Order]]:
    """Factory: ``order_batch("large", 100_000, seed=0)`` -> list[Order] (cached)."""

    def make(
        network_name: str, n: int, seed: int = 0, costs: str = "flat"
    ) -> list[Order]:
        return list(_orders(network_name, n, seed, costs))

    return make


@pytest.fixture(scope="session")
def case_scenario() -> Callable[[str], Scenario]:
    """Factory: ``case_scenario("large-100k")`` -> Scenario with orders (cached).

    The Scenario caches its compiled form: solver benchmarks share it, compile
    benchmarks call ``compile_scenario`` directly.
    """
    return _case_scenario


@pytest.fixture(scope="session")
def warm_up() -> Callable[..., None]:
    """Factory: ``warm_up("greedy", costs="flat")`` compiles a solver's kernels first."""
    return _warm
