"""Components too large to list: the Lagrangian bound and plan, against the independent MILP."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import omnistock.solvers.optimal.lagrange as lagrange
import omnistock.solvers.optimal.large as large
import omnistock.solvers.optimal.solver as solver_module
from omnistock import samples, solve
from omnistock.compiled import NO_LIMIT
from omnistock.exceptions import InvalidOptionValue
from omnistock.solvers.base import SolveStatus
from omnistock.solvers.optimal.lagrange import Prices, lagrangian_bound
from omnistock.testing import scenarios
from tests.milp_reference import reference_optimum

SLACK = 1e-6


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=scenarios(
        max_nodes=5, max_skus=3, max_orders=6, max_lines=3, max_lockers=2
    ),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.0, 1.0, 50.0, 1_000.0, 1e6]),
)
def test_the_lagrangian_bound_never_exceeds_the_optimum(scenario, seed, scale):
    """Tests that L(p) is a valid bound for any prices >= 0, under every rule.

    Random prices on every shared constraint (free units, protected limits,
    capacities), including prices far above any cost, stay at or below the
    reference MILP's optimum.
    """
    assume(len(scenario.orders) > 0)
    compiled = scenario.compiled()
    net = compiled.network
    optimum = reference_optimum(scenario).objective
    tol = SLACK * max(1.0, abs(optimum))
    rng = np.random.default_rng(seed)
    nnz = net.stock_node.shape[0]
    prices = Prices(
        scale * rng.random(nnz),
        scale * rng.random(nnz),
        np.where(net.node_capacity < NO_LIMIT, scale * rng.random(net.n_nodes), 0.0),
    )
    for p in (Prices.zero(compiled), prices):
        done = lagrangian_bound(compiled, p)
        assert done.complete
        assert done.bound <= optimum + tol
    # A pass cut short at its deadline (one order a chunk here) is a bound too.
    chunk = lagrange.CHUNK_ORDERS
    lagrange.CHUNK_ORDERS = 1
    try:
        part = lagrangian_bound(compiled, prices, deadline=-np.inf)
    finally:
        lagrange.CHUNK_ORDERS = chunk
    assert part.complete == (compiled.orders.n_orders == 1)
    assert part.bound <= optimum + tol


@pytest.mark.parametrize("limit", [0, 1, 3])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=scenarios(
        max_nodes=5, max_skus=3, max_orders=6, max_lines=3, min_orders=1, max_lockers=2
    )
)
def test_the_priced_path_gives_a_checked_plan_and_a_valid_bound(limit, scenario):
    """Tests the path forced by a tiny candidate limit: checked plan, bound <= optimum.

    The objective is the plan's own recomputed cost, never above greedy's, and
    the status never claims a proof the path cannot give.
    """
    original = large.candidate_limit
    large.candidate_limit = lambda: limit
    try:
        plan = solve(scenario, solver="optimal", time_limit=5)
    finally:
        large.candidate_limit = original
    plan.check(scenario)
    optimum = reference_optimum(scenario).objective
    tol = SLACK * max(1.0, abs(optimum))
    assert plan.bound is not None
    assert 0.0 <= plan.bound <= optimum + tol
    assert plan.objective == pytest.approx(plan.info["objective"], rel=1e-9, abs=1e-9)
    assert plan.objective <= solve(scenario, solver="greedy").objective + tol
    priced = plan.info.get("lagrangian_components", [])
    if priced:
        assert plan.status in (SolveStatus.FEASIBLE, SolveStatus.TIME_LIMIT)
        assert plan.info["lagrangian_orders"] > 0


@pytest.fixture(scope="module")
def batch():
    net = samples.network("small", seed=2)
    return net.with_orders(samples.orders(net, 400, seed=5))


def test_the_priced_path_never_lists_a_candidate(batch, monkeypatch):
    """Tests that with a limit of 0 candidates no listing holds one, yet the bound is real."""
    listed: list[int] = []
    real = solver_module.candidates

    def spy(compiled, **kwargs):
        cand = real(compiled, **kwargs)
        listed.append(int(cand.line.size))
        assert cand.line.size == 0, "a candidate was listed on the priced path"
        return cand

    monkeypatch.setattr(solver_module, "candidates", spy)
    monkeypatch.setattr(large, "candidate_limit", lambda: 0)
    plan = solve(batch, solver="optimal", time_limit=10)
    plan.check(batch)
    assert plan.info["lagrangian_components"]
    assert plan.info["lagrangian_orders"] > 300
    greedy = solve(batch, solver="greedy").objective
    assert plan.objective <= greedy + 1e-6
    # Non-trivial: more than the orders no node can serve at all.
    assert plan.bound > 0.5 * plan.objective
    assert all(n == 0 for n in listed)


def test_a_batch_that_fits_takes_the_usual_path(batch):
    """Tests that a batch whose candidates fit is solved as before (no priced component)."""
    plan = solve(batch, solver="optimal", time_limit=20)
    assert "lagrangian_components" not in plan.info
    assert large.split_large(batch.compiled()) is None


def test_the_environment_caps_the_limit(monkeypatch):
    """Tests OMNISTOCK_MAX_CANDIDATES: it lowers the limit, a bad value is named."""
    monkeypatch.setenv(large.LIMIT_VARIABLE, "7")
    assert large.candidate_limit() == 7
    monkeypatch.setenv(large.LIMIT_VARIABLE, "lots")
    with pytest.raises(InvalidOptionValue, match=r"OMNISTOCK_MAX_CANDIDATES.*'lots'"):
        large.candidate_limit()


def _priced_on_a_worker(plan, batch):
    """A checked plan, no fallback, the component priced, a non-trivial bound."""
    plan.check(batch)
    assert plan.info["fallback_components"] == []
    assert plan.info["lagrangian_components"]
    assert plan.bound is not None
    assert 0.5 * plan.objective < plan.bound <= plan.objective
    assert plan.status in (SolveStatus.FEASIBLE, SolveStatus.TIME_LIMIT)


def test_a_process_pool_takes_the_same_path(batch, monkeypatch):
    """Tests that workers price a component too large for them rather than failing."""
    monkeypatch.setenv(large.LIMIT_VARIABLE, "0")  # the spawned workers inherit it
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        plan = solve(batch, solver="optimal", time_limit=10, executor=pool)
    _priced_on_a_worker(plan, batch)


def test_a_local_cluster_takes_the_same_path(batch, monkeypatch):
    """Tests that a Dask worker prices the component too, and no task falls back."""
    pytest.importorskip(
        "distributed",
        reason="the dask extra is not installed (pip install 'omnistock[dask]')",
    )
    from omnistock.scale import make_executor

    monkeypatch.setenv(large.LIMIT_VARIABLE, "0")  # the nannies' workers inherit it
    with make_executor(workers=2) as client:
        plan = solve(batch, solver="optimal", time_limit=10, executor=client)
    _priced_on_a_worker(plan, batch)
