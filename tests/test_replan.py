"""Re-planning never worsens a plan, keeps frozen orders, and its moves turn old into new."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings

from omnistock import OmnistockError, Scenario, available_solvers, replan, solve
from omnistock.replanning import apply_moves
from omnistock.testing import scenarios
from tests.helpers import make_scenario

pytestmark = pytest.mark.skipif(
    "optimal" not in available_solvers(), reason="needs the optimal solver"
)
KEYS = ["order_id", "sku", "node_id"]


def _start(scenario: Scenario) -> str:
    return "priority" if "priority" in available_solvers() else "null"


@settings(max_examples=25)
@given(scenarios(max_nodes=4, max_orders=5, min_orders=1))
def test_replan_never_worsens_and_moves_turn_old_into_new(scenario: Scenario) -> None:
    old = solve(scenario, solver=_start(scenario))
    result = replan(scenario, old, time_limit=10.0)
    result.plan.check(scenario)
    assert result.saving >= 0.0
    assert result.plan.objective == pytest.approx(
        old.objective - result.saving, abs=1e-6
    )
    assert apply_moves(old.allocations, result.moves).equals(
        result.plan.allocations.sort(KEYS)
    )


@settings(max_examples=15)
@given(scenarios(max_nodes=4, max_orders=6, min_orders=2))
def test_frozen_orders_keep_their_allocations(scenario: Scenario) -> None:
    old = solve(scenario, solver=_start(scenario))
    frozen = [o.id for o in scenario.orders[::2]]
    result = replan(scenario, old, frozen=frozen, time_limit=10.0)
    result.plan.check(scenario)

    def part(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("order_id").is_in(frozen)).sort(KEYS)

    assert part(result.plan.allocations).equals(part(old.allocations))
    assert result.moves.filter(pl.col("order_id").is_in(frozen)).is_empty()


@settings(max_examples=15)
@given(scenarios(max_nodes=4, max_orders=6, min_orders=1))
def test_max_moves_is_respected(scenario: Scenario) -> None:
    old = solve(scenario, solver="null")
    result = replan(scenario, old, max_moves=2, time_limit=10.0)
    result.plan.check(scenario)
    assert result.moves.height <= 2
    assert result.saving >= 0.0
    assert apply_moves(old.allocations, result.moves).equals(
        result.plan.allocations.sort(KEYS)
    )


def test_a_saving_below_min_saving_keeps_the_old_plan() -> None:
    scenario = make_scenario()
    old = solve(scenario, solver="null")
    full = replan(scenario, old, time_limit=10.0)
    assert full.saving > 0 and not full.moves.is_empty()
    # The moves fill both units from the store next door: newly filled units have no from_node.
    assert full.moves["from_node"].null_count() == full.moves.height
    kept = replan(scenario, old, min_saving=full.saving + 1.0, time_limit=10.0)
    assert kept.saving == 0.0 and kept.moves.is_empty()
    assert kept.plan.allocations.equals(old.allocations)


def test_unknown_frozen_order_is_an_error() -> None:
    scenario = make_scenario()
    with pytest.raises(
        OmnistockError, match=r"frozen names order\(s\) not in the scenario: \['nope'\]"
    ):
        replan(scenario, solve(scenario, solver="null"), frozen=["nope"])


def _chain() -> Scenario:
    """o1 (ship to Lyon) takes store S's last unit first; o2 (same-day) has only S.

    Greedy leaves o2 unfilled; the re-plan ships o1 from W (dearer for o1) so
    that o2 gets S's unit: a chain no single-order switch can make.
    """
    lyon = {"lat": 45.75, "lon": 4.85}
    return make_scenario(
        stock=[
            {"node": "W", "sku": "A", "on_hand": 1},
            {"node": "S", "sku": "A", "on_hand": 1},
        ],
        orders=[
            {"id": "o1", "destination": lyon, "lines": [{"sku": "A", "qty": 1}]},
            {
                "id": "o2",
                "destination": lyon,
                "method": "same_day",
                "lines": [{"sku": "A", "qty": 1}],
            },
        ],
    )


def test_max_moves_switches_a_chain_of_orders_whole() -> None:
    """Issue 13, item 1: a limit never found a feasible switch on greedy plans."""
    scenario = _chain()
    old = solve(scenario, solver="greedy")
    assert old.unfilled["order_id"].to_list() == ["o2"]
    full = replan(scenario, old, time_limit=10.0)
    assert full.saving > 0 and sorted(set(full.moves["order_id"])) == ["o1", "o2"]
    # o1 alone is dearer and o2 alone does not fit: nothing within one move.
    one = replan(scenario, old, max_moves=1, time_limit=10.0)
    assert one.saving == 0.0 and one.moves.is_empty()
    both = replan(scenario, old, max_moves=full.moves.height, time_limit=10.0)
    assert both.saving == pytest.approx(full.saving)
    assert both.moves.sort(both.moves.columns).equals(
        full.moves.sort(full.moves.columns)
    )


@pytest.mark.slow
def test_max_moves_on_a_greedy_plan_of_the_sample_network() -> None:
    """At least the unlimited move count gives the unlimited result; fewer, a part of it."""
    from omnistock import samples

    network = samples.network("small", seed=1)
    scenario = network.with_orders(samples.orders(network, 300, seed=1))
    old = solve(scenario, solver="greedy")
    full = replan(scenario, old, time_limit=20.0)
    assert full.saving > 0
    n = full.moves.height
    same = replan(scenario, old, max_moves=n, time_limit=20.0)
    assert same.saving == pytest.approx(full.saving)
    assert same.plan.objective == pytest.approx(full.plan.objective)
    for limit in (n // 4, n // 2):
        part = replan(scenario, old, max_moves=limit, time_limit=20.0)
        part.plan.check(scenario)
        assert part.moves.height <= limit
        assert 0.0 <= part.saving <= full.saving + 1e-6
        assert apply_moves(old.allocations, part.moves).equals(
            part.plan.allocations.sort(KEYS)
        )
