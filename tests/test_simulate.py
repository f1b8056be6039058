"""The simulator: deterministic, conserves stock, honours receipts and re-planning."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest

from omnistock import (
    OmnistockError,
    Plan,
    Scenario,
    available_solvers,
    samples,
    simulate,
    solvers,
)
from omnistock.compiled import CompiledScenario
from omnistock.compiled.allocations import allocation_triples
from omnistock.simulation.run import OrderUpTo
from omnistock.solvers.base import Capabilities, Solution, empty_solution
from omnistock.solvers.lookahead import LookaheadOptions
from tests.helpers import make_scenario


@pytest.fixture(scope="module")
def stream() -> tuple[Scenario, list, pl.DataFrame]:
    net = samples.network("small", seed=3)
    orders = samples.orders(net, 300, seed=4)
    arrivals = samples.orders_frame(net, 300, seed=4, days=2.0)
    return net, orders, arrivals


def _policy() -> str:
    return "greedy" if "greedy" in available_solvers() else "null"


def test_same_inputs_same_simulation(
    stream: tuple[Scenario, list, pl.DataFrame],
) -> None:
    net, orders, arrivals = stream
    a = simulate(net, orders, _policy(), arrivals=arrivals)
    b = simulate(net, orders, _policy(), arrivals=arrivals)
    assert a.decisions.equals(b.decisions)
    assert a.daily.drop("decision_us_per_order", strict=False).equals(
        b.daily.drop("decision_us_per_order", strict=False)
    )
    assert {k: v for k, v in a.kpis.items() if k != "decision_us_per_order"} == {
        k: v for k, v in b.kpis.items() if k != "decision_us_per_order"
    }


def test_whole_stream_respects_stock_and_reports_every_unit(
    stream: tuple[Scenario, list, pl.DataFrame],
) -> None:
    net, orders, arrivals = stream
    sim = simulate(net, orders, _policy(), arrivals=arrivals)
    # Without receipts the stream is one plan of one scenario: it passes the checker
    # and its objective is the simulation's.
    scenario = net.with_orders(orders)
    allocated = sim.decisions.filter(pl.col("node_id").is_not_null())
    plan = Plan.from_solution(
        scenario.compiled(),
        Solution(*allocation_triples(scenario.compiled(), allocated)),
    )
    plan.check(scenario)
    assert plan.objective == pytest.approx(sim.kpis["objective"])
    units = sum(ln.qty for o in orders for ln in o.lines)
    assert sim.decisions["qty"].sum() == units  # allocated + unfilled = ordered
    assert sim.kpis["orders"] == 300
    assert (
        sim.kpis["lost_units"]
        == sim.decisions.filter(pl.col("node_id").is_null())["qty"].sum()
    )
    assert sim.daily["orders"].sum() == 300 and sim.daily.height == 2


def test_receipts_arrive_and_are_used() -> None:
    scenario = make_scenario(stock=[{"node": "S", "sku": "A", "on_hand": 0}])
    orders = [
        scenario.orders[0].model_copy(update={"id": f"o{i}"}) for i in range(2)
    ]  # two orders of 2 units near the store; nothing in stock at first
    receipts = pl.DataFrame({"hour": [5.0], "node_id": ["S"], "sku": ["A"], "qty": [2]})
    sim = simulate(
        scenario,
        orders,
        "null" if _policy() == "null" else _policy(),
        arrivals=[1.0, 6.0],
        receipts=receipts,
    )
    if _policy() == "null":
        pytest.skip("needs a policy that allocates")
    by_order = dict(sim.orders.select("order_id", "filled").iter_rows())
    assert by_order == {"o0": 0, "o1": 2}


def test_receipt_for_a_missing_stock_row_is_an_error() -> None:
    scenario = make_scenario()
    receipts = pl.DataFrame(
        {"hour": [1.0], "node_id": ["W"], "sku": ["NOPE"], "qty": [2]}
    )
    with pytest.raises(
        OmnistockError,
        match=r"receipts\[0\] \(node 'W', sku 'NOPE'\): the node holds no stock row",
    ):
        simulate(scenario, list(scenario.orders), "null", receipts=receipts)


def test_order_up_to_refills_what_was_taken() -> None:
    scenario = make_scenario(
        stock=[{"node": "S", "sku": "A", "on_hand": 2}],
        nodes=[{"id": "S", "kind": "warehouse", "lat": 45.7640, "lon": 4.8357}],
    )
    orders = [scenario.orders[0].model_copy(update={"id": f"o{i}"}) for i in range(3)]
    # Day 0 takes the 2 units; the review at 24 h orders 2, arriving at 36 h for the order at 40 h.
    sim = simulate(
        scenario,
        orders,
        _policy(),
        arrivals=[1.0, 30.0, 40.0],
        replenish=OrderUpTo(24.0, 12.0),
    )
    if _policy() == "null":
        pytest.skip("needs a policy that allocates")
    assert dict(sim.orders.select("order_id", "filled").iter_rows()) == {
        "o0": 2,
        "o1": 0,
        "o2": 2,
    }


@pytest.mark.skipif(
    "optimal" not in available_solvers(), reason="needs the optimal solver"
)
def test_replanning_never_costs_more_than_deciding_on_arrival(
    stream: tuple[Scenario, list, pl.DataFrame],
) -> None:
    net, orders, arrivals = stream
    plain = simulate(net, orders, _policy(), arrivals=arrivals)
    replanned = simulate(
        net,
        orders,
        _policy(),
        arrivals=arrivals,
        replan_every=24.0,
        replan_options={"time_limit": 5.0},
    )
    assert replanned.kpis["objective"] <= plain.kpis["objective"] + 1e-6
    assert np.isclose(replanned.orders["cost"].sum(), replanned.kpis["objective"])


def test_arrivals_must_cover_every_order() -> None:
    scenario = make_scenario()
    with pytest.raises(OmnistockError, match=r"no arrival for order 'o1'"):
        simulate(
            scenario,
            list(scenario.orders),
            "null",
            arrivals=pl.DataFrame({"order_id": ["x"], "arrival": [1.0]}),
        )


@pytest.mark.skipif(
    "optimal" not in available_solvers(), reason="needs the optimal solver"
)
def test_hindsight_bounds_every_policy(
    stream: tuple[Scenario, list, pl.DataFrame],
) -> None:
    from omnistock.simulation.offline import hindsight

    net, orders, arrivals = stream
    bound = hindsight(net, orders, arrivals=arrivals, time_limit=20.0)
    assert bound.info["status"] in {"optimal", "feasible", "time_limit"}
    for policy in sorted(
        set(available_solvers()) & {"greedy", "priority", "nearest", "most_stock"}
    ):
        sim = simulate(net, orders, policy, arrivals=arrivals)
        assert bound.info["bound"] <= sim.kpis["objective"] + 1e-6
    assert bound.kpis["orders"] == len(orders)


class _PricedProbe:
    """A priced policy under a name the simulator cannot know: records the prices it gets."""

    name = "priced_probe_issue_11"
    capabilities = Capabilities(per_order=True, priced=True)
    Options = LookaheadOptions
    seen: ClassVar[list[Any]] = []

    def run(self, compiled: CompiledScenario, options: LookaheadOptions) -> Solution:
        self.seen.append(options.row_cost)
        return empty_solution()


def test_prices_refresh_for_any_priced_policy_issue_11(
    stream: tuple[Scenario, list, pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulator reads the `priced` capability, not the name "lookahead"."""
    net, orders, arrivals = stream
    monkeypatch.setitem(solvers._REGISTERED, _PricedProbe.name, _PricedProbe)
    monkeypatch.setattr(_PricedProbe, "seen", [])
    simulate(net, orders[:40], _PricedProbe.name, arrivals=arrivals.head(40))
    nnz = net.compiled().network.stock_node.shape[0]
    assert _PricedProbe.seen
    assert all(p is not None and np.shape(p) == (nnz,) for p in _PricedProbe.seen)


def test_replan_with_a_solver_without_time_limit_issue_11(
    stream: tuple[Scenario, list, pl.DataFrame],
) -> None:
    """Re-planning with `greedy` works: the 10 s default goes only to time_limit solvers."""
    net, orders, arrivals = stream
    sim = simulate(
        net,
        orders[:60],
        "priority",
        arrivals=arrivals.head(60),
        replan_every=12.0,
        replan_solver="greedy",
    )
    # Re-planning may only lower the cost of what priority decided.
    plain = simulate(net, orders[:60], "priority", arrivals=arrivals.head(60))
    assert sim.kpis["objective"] <= plain.kpis["objective"] + 1e-9
