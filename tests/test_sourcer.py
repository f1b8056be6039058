"""Sourcer: per-order decisions, commits that never oversell, threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given

from omnistock import (
    DecisionError,
    InsufficientStock,
    Order,
    ScenarioError,
    Sourcer,
    solve,
)
from omnistock.testing import scenarios
from tests.helpers import make_scenario

LYON = {"lat": 45.75, "lon": 4.85}


def _order(oid="x", qty=2, **kw):
    return Order.model_validate(
        {"id": oid, "destination": LYON, "lines": [{"sku": "A", "qty": qty}], **kw}
    )


def test_source_is_greedy_decision_and_leaves_stock():
    """Tests that source() returns the exact cheapest decision and changes no counter."""
    scenario = make_scenario()
    sourcer = Sourcer(scenario)
    before = sourcer.state.free_left.copy()
    decision = sourcer.source(scenario.orders[0])
    plan = solve(scenario, solver="greedy")
    assert decision.cost == pytest.approx(plan.objective, rel=1e-12)
    assert decision.allocations.rows() == plan.allocations.rows()
    assert decision.unfilled.height == 0
    assert np.array_equal(sourcer.state.free_left, before)
    assert not decision.committed


@given(scenarios(max_nodes=5, max_skus=3, max_orders=5))
def test_source_then_commit_in_turn_reproduces_greedy(scenario):
    """Tests that sourcing and committing each order in turn gives greedy's batch plan."""
    sourcer = Sourcer(scenario)
    rows = []
    total = 0.0
    for order in scenario.orders:
        decision = sourcer.source(order)
        sourcer.commit(decision)
        rows += decision.allocations.rows()
        total += decision.cost
    plan = solve(scenario, solver="greedy")
    assert sorted(rows) == sorted(plan.allocations.rows())
    assert total == pytest.approx(plan.objective, rel=1e-9, abs=1e-9)


def test_second_of_two_concurrent_decisions_fails_and_changes_nothing():
    """Tests that two decisions for the same last units cannot both commit."""
    scenario = make_scenario(stock=[{"node": "S", "sku": "A", "on_hand": 3}])
    sourcer = Sourcer(scenario)
    first, second = sourcer.source(_order("a", 3)), sourcer.source(_order("b", 3))
    sourcer.commit(first)
    after_first = sourcer.state.free_left.copy(), sourcer.state.cap_left.copy()
    with pytest.raises(
        InsufficientStock, match="node 'S', sku 'A': requested 3 units but only 0"
    ) as err:
        sourcer.commit(second)
    assert (err.value.node_id, err.value.sku, err.value.requested, err.value.free) == (
        "S",
        "A",
        3,
        0,
    )
    assert np.array_equal(sourcer.state.free_left, after_first[0])
    assert np.array_equal(sourcer.state.cap_left, after_first[1])
    assert not second.committed


def test_commit_rechecks_capacity():
    """Tests that a commit beyond a node's capacity left is refused."""
    nodes = [{"id": "S", "kind": "store", "lat": 45.76, "lon": 4.84, "capacity": 4}]
    scenario = make_scenario(
        nodes=nodes, stock=[{"node": "S", "sku": "A", "on_hand": 10}]
    )
    sourcer = Sourcer(scenario)
    first, second = sourcer.source(_order("a", 3)), sourcer.source(_order("b", 3))
    sourcer.commit(first)
    with pytest.raises(InsufficientStock, match="capacity"):
        sourcer.commit(second)
    assert sourcer.source(_order("c", 3)).qty.sum() == 1  # one unit of capacity left


def test_commit_twice_or_elsewhere_is_refused():
    """Tests that a decision commits once, and only on the Sourcer that made it."""
    scenario = make_scenario()
    sourcer, other = Sourcer(scenario), Sourcer(scenario)
    decision = sourcer.source(_order())
    sourcer.commit(decision)
    with pytest.raises(DecisionError, match="already committed"):
        sourcer.commit(decision)
    with pytest.raises(DecisionError, match="another Sourcer"):
        other.commit(other.source(_order()) and decision)


def test_unknown_sku_is_unfilled_and_bad_pickup_node_is_refused():
    """Tests that a SKU the network never heard of is unfilled; a foreign pickup node errors."""
    sourcer = Sourcer(make_scenario())
    decision = sourcer.source(
        Order.model_validate(
            {"id": "u", "destination": LYON, "lines": [{"sku": "ZZ", "qty": 2}]}
        )
    )
    assert decision.unfilled.rows() == [("u", "ZZ", 2)]
    assert decision.cost == pytest.approx(2000.0)
    bad = Order.model_validate(
        {
            "id": "p",
            "method": "pickup",
            "pickup_node": "NOPE",
            "lines": [{"sku": "A", "qty": 1}],
        }
    )
    with pytest.raises(ScenarioError, match="pickup_node 'NOPE' is not a node"):
        sourcer.source(bad)


def test_protection_holds_between_commits():
    """Tests that non-exempt commits never eat the protected units; vip may."""
    scenario = make_scenario(
        stock=[{"node": "S", "sku": "A", "on_hand": 3}],
        rules={"last_unit_protection": {"store": 2}},
    )
    sourcer = Sourcer(scenario)
    std = sourcer.source_and_commit(_order("s1", 3))
    assert std.qty.sum() == 1
    assert sourcer.source(_order("s2", 1)).qty.sum() == 0
    assert sourcer.source_and_commit(_order("v", 2, tier="vip")).qty.sum() == 2


@pytest.mark.threads
def test_threads_never_oversell():
    """Tests that many threads sourcing and committing on scarce stock never oversell."""
    nodes = [
        {
            "id": f"N{i}",
            "kind": "store" if i % 2 else "warehouse",
            "lat": 45 + i * 0.2,
            "lon": 4.8,
            "capacity": 9,
        }
        for i in range(6)
    ]
    stock = [
        {"node": f"N{i}", "sku": s, "on_hand": 4} for i in range(6) for s in ("A", "B")
    ]
    scenario = make_scenario(
        nodes=nodes, stock=stock, rules={"last_unit_protection": {"store": 1}}
    )
    sourcer = Sourcer(scenario)
    net = sourcer.network
    committed: list = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(60):
                order = Order.model_validate(
                    {
                        "id": f"t{t}-{i}",
                        "tier": "vip" if i % 5 == 0 else "standard",
                        "destination": LYON,
                        "lines": [
                            {"sku": "A", "qty": 1 + i % 2},
                            {"sku": "B", "qty": 1},
                        ],
                    }
                )
                decision = sourcer.source(order)
                try:
                    sourcer.commit(decision)
                except InsufficientStock:
                    continue
                with lock:
                    committed.append(decision)
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    taken = np.zeros_like(net.stock_free)
    taken_plain = np.zeros_like(net.stock_free)
    by_node = np.zeros(net.n_nodes, dtype=np.int64)
    for d in committed:
        np.add.at(taken, d.row_idx, d.qty)
        if not d.exempt:
            np.add.at(taken_plain, d.row_idx, d.qty)
        np.add.at(by_node, d.node_idx, d.qty)
    assert taken.sum() > 0
    assert (taken <= net.stock_free).all()
    assert (taken_plain <= net.stock_limit).all()
    assert (by_node <= net.node_capacity).all()
    assert np.array_equal(sourcer.state.free_left, net.stock_free - taken)
    assert (sourcer.state.free_left >= 0).all()
    assert (sourcer.state.cap_left >= 0).all()


def test_source_accepts_the_json_form_of_an_order():
    """Tests that a plain dict order is validated and sourced like an Order."""
    sourcer = Sourcer(make_scenario())
    as_dict = {"id": "d", "destination": LYON, "lines": [{"sku": "A", "qty": 2}]}
    assert (
        sourcer.source(as_dict).allocations.rows()
        == sourcer.source(_order("d")).allocations.rows()
    )
    with pytest.raises(ValueError, match="qty must be > 0"):
        sourcer.source(
            {"id": "bad", "destination": LYON, "lines": [{"sku": "A", "qty": 0}]}
        )


@pytest.mark.threads
def test_racing_threads_exactly_one_commit_wins():
    """Tests that when threads race for the same last units, exactly one commit succeeds."""
    for _round in range(20):
        sourcer = Sourcer(
            make_scenario(stock=[{"node": "S", "sku": "A", "on_hand": 3}])
        )
        barrier = threading.Barrier(4)
        wins: list[str] = []
        losses: list[str] = []

        def race(
            name: str, sourcer=sourcer, barrier=barrier, wins=wins, losses=losses
        ) -> None:
            decision = sourcer.source(_order(name, 3))
            barrier.wait()
            try:
                sourcer.commit(decision)
                wins.append(name)
            except InsufficientStock:
                losses.append(name)

        threads = [threading.Thread(target=race, args=(f"t{i}",)) for i in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(wins) == 1
        assert len(losses) == 3
        assert sourcer.state.free_left.tolist() == [0]
