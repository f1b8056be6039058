"""The v1.1 search's shortcuts: each proven against the exact rule it replaces."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from omnistock import Scenario, solve
from omnistock._kernels.rated_prune import (
    FILL_PICKS,
    fill_all,
    in_package_order,
    per_line,
    single_bound,
    uncoupled,
    undominated,
)
from omnistock._kernels.rated_search import RatedOrder, _flow, _price_order, _var_bound
from omnistock.testing import scenarios
from tests.rates_reference import brute_force_one_order


def _order(
    fixed: list[float],
    unit: list[list[float]],
    use: list[list[int]],
    cap: list[int],
    qty: list[int],
    penalty: float = 100.0,
    charge: float = 0.0,
    all_or_nothing: bool = False,
) -> RatedOrder:
    m = len(fixed)
    return RatedOrder(
        np.arange(m, dtype=np.int64),
        np.zeros(m, dtype=np.int64),
        np.array(fixed, dtype=np.float64),
        np.array(unit, dtype=np.float64),
        np.array(use, dtype=np.int64),
        np.array(cap, dtype=np.int64),
        np.array(qty, dtype=np.int64),
        penalty,
        charge,
        all_or_nothing,
    )


def _kept(rt: RatedOrder) -> list[int]:
    keep = np.arange(rt.fixed.shape[0], dtype=np.int64)
    return list(undominated(keep, rt, int(rt.qty.sum()), 1e-9))


def test_a_cheaper_node_holding_the_whole_line_drops_the_dearer_one() -> None:
    # Node 0 holds both units of line 0 at a lower unit cost and a cheaper package.
    rt = _order(
        [5.0, 6.0, 7.0],
        [[1.0, 9.0], [2.0, 9.0], [3.0, 1.0]],
        [[2, 0], [1, 0], [0, 3]],
        [5, 5, 5],
        [2, 3],
    )
    assert _kept(rt) == [0, 2]


def test_a_node_holding_part_of_the_line_drops_nothing() -> None:
    # Node 0 is cheaper on every count and holds more than node 1, but not the
    # three units: a decision may need both (the stock rule alone is not exact).
    rt = _order([5.0, 6.0], [[1.0], [2.0]], [[2], [1]], [3, 3], [3])
    assert _kept(rt) == [0, 1]


def test_capacity_or_a_dearer_unit_or_an_equal_package_keeps_the_node() -> None:
    unit = [[1.0], [2.0]]
    assert _kept(_order([5.0, 6.0], unit, [[2], [2]], [1, 2], [2])) == [0, 1]
    assert _kept(_order([5.0, 6.0], [[3.0], [2.0]], [[2], [2]], [2, 2], [2])) == [0, 1]
    assert _kept(_order([6.0, 6.0], unit, [[2], [2]], [2, 2], [2])) == [0, 1]


@pytest.mark.parametrize("seed", range(300))
def test_per_line_fill_equals_the_flow_when_no_capacity_binds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    s, n_lines = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    use = rng.integers(0, 4, size=(s, n_lines))
    rt = _order(
        [1.0] * s,
        rng.integers(1, 8, size=(s, n_lines)).astype(float).tolist(),
        use.tolist(),
        (use.sum(axis=1) + rng.integers(0, 2, size=s)).tolist(),
        rng.integers(1, 5, size=n_lines).tolist(),
        penalty=float(rng.integers(2, 9)),
        charge=float(rng.choice([0.0, 3.0, 40.0])),
        all_or_nothing=bool(rng.integers(0, 2)),
    )
    subset = np.arange(s, dtype=np.int64)
    assert uncoupled(subset, rt)
    cost, x = per_line(subset, rt)
    want, _ = _flow(subset, rt)
    assert cost == pytest.approx(want)
    if cost < np.inf:
        served = x.sum(axis=0)
        assert (x <= rt.use).all() and (served <= rt.qty).all()
        priced = float((x * rt.unit).sum()) + rt.penalty * float(
            (rt.qty - served).sum()
        )
        priced += rt.charge if (served < rt.qty).any() else 0.0
        assert priced == pytest.approx(cost)


def test_a_binding_capacity_is_coupled() -> None:
    rt = _order([1.0], [[1.0, 1.0]], [[2, 2]], [3], [2, 2])
    assert not uncoupled(np.array([0], dtype=np.int64), rt)


@pytest.mark.parametrize("seed", range(200))
def test_fill_all_equals_the_sorted_fill_bound(seed: int) -> None:
    # Up to 3 x FILL_PICKS nodes of one or two units each: lines that need more
    # picks than FILL_PICKS take the sorted way.
    rng = np.random.default_rng(seed)
    m, n_lines = int(rng.integers(1, 3 * FILL_PICKS)), int(rng.integers(1, 3))
    rt = _order(
        rng.integers(1, 9, size=m).astype(float).tolist(),
        rng.integers(1, 6, size=(m, n_lines)).astype(float).tolist(),
        rng.integers(0, 3, size=(m, n_lines)).tolist(),
        rng.integers(0, 4, size=m).tolist(),
        rng.integers(1, 3 * FILL_PICKS, size=n_lines).tolist(),
        penalty=float(rng.integers(2, 7)),
        charge=float(rng.choice([0.0, 5.0])),
        all_or_nothing=bool(rng.integers(0, 2)),
    )
    every = np.arange(m, dtype=np.int64)
    plain = np.zeros(m)
    want = _var_bound(
        np.empty(0, dtype=np.int64), every, 0, rt, plain, _price_order(rt, plain, every)
    )
    assert fill_all(rt) == pytest.approx(want)


def test_package_order_is_package_then_priority_then_position() -> None:
    rt = _order([3.0, 1.0, 3.0, 1.0, 2.0], [[1.0]] * 5, [[1]] * 5, [1] * 5, [1])
    rt = rt._replace(prio=np.array([0, 2, 0, 1, 0], dtype=np.int64))
    mask = np.array([True, True, True, True, False])
    assert list(in_package_order(rt, mask)) == [3, 1, 0, 2]


@pytest.mark.parametrize("seed", range(200))
def test_single_bound_never_exceeds_the_single_nodes_flow(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_lines = int(rng.integers(1, 4))
    rt = _order(
        [1.0],
        rng.integers(1, 9, size=(1, n_lines)).astype(float).tolist(),
        rng.integers(0, 4, size=(1, n_lines)).tolist(),
        [int(rng.integers(0, 6))],
        rng.integers(1, 4, size=n_lines).tolist(),
        penalty=float(rng.integers(2, 9)),
        charge=float(rng.choice([0.0, 4.0])),
        all_or_nothing=bool(rng.integers(0, 2)),
    )
    cost, _ = _flow(np.zeros(1, dtype=np.int64), rt)
    assert single_bound(0, rt) <= cost + 1e-9


def test_single_bound_charges_a_node_missing_a_line() -> None:
    # Line 1 is not at the node: both of line 0 at 2.0, line 1 at the penalty, the charge.
    rt = _order([1.0], [[2.0, 1.0]], [[2, 0]], [5], [2, 1], penalty=10.0, charge=7.0)
    assert single_bound(0, rt) == 2 * 2.0 + 10.0 + 7.0
    assert single_bound(0, rt._replace(all_or_nothing=True)) == np.inf


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenarios(
        max_nodes=5, max_skus=3, max_orders=1, min_orders=1, max_lines=3, rates=True
    )
)
def test_the_search_with_its_shortcuts_equals_brute_force(s: Scenario) -> None:
    """More nodes and lines than tests/test_rates.py: dominance and bounds get to act."""
    plan = solve(s, solver="greedy")
    best = brute_force_one_order(s)
    assert math.isclose(plan.objective, best, rel_tol=1e-9, abs_tol=1e-6)
