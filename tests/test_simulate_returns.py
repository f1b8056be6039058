"""Simulated returns (issue 15, item 7): units come back, are restocked and sold again."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from omnistock import Scenario, samples, simulate
from omnistock.exceptions import InvalidArgument
from omnistock.simulation import Returns, Simulation
from tests.helpers import make_scenario

KPIS = ("returned", "restocked", "unsellable", "sold_from_returns")


@pytest.fixture(scope="module")
def stream() -> tuple[Scenario, list[Any], pl.DataFrame]:
    net = samples.network("small", seed=3)
    orders = samples.orders(net, 300, seed=4)
    arrivals = samples.orders_frame(net, 300, seed=4, days=3.0)
    return net, orders, arrivals


def _no_timing(sim: Simulation) -> dict[str, float]:
    return {k: v for k, v in sim.kpis.items() if k != "decision_us_per_order"}


def _two_orders(**order: Any) -> tuple[Scenario, list[Any]]:
    """W (Paris) holds the only 2 units of A; two orders of 2 units near Lyon.

    Without returns the second order (at 40 h) finds nothing left.
    """
    scenario = make_scenario(stock=[{"node": "W", "sku": "A", "on_hand": 2}])
    first = scenario.orders[0].model_copy(update={"id": "o0"})
    second = scenario.orders[0].model_copy(update={"id": "o1", **order})
    return scenario, [first, second]


def _filled(sim: Simulation) -> dict[str, int]:
    return dict(sim.orders.select("order_id", "filled").iter_rows())


def test_no_returns_is_the_simulation_of_today(
    stream: tuple[Scenario, list[Any], pl.DataFrame],
) -> None:
    net, orders, arrivals = stream
    a = simulate(net, orders, "greedy", arrivals=arrivals)
    b = simulate(net, orders, "greedy", arrivals=arrivals, returns=None)
    assert a.decisions.equals(b.decisions)
    assert a.orders.equals(b.orders)
    assert a.daily.equals(b.daily)
    assert _no_timing(a) == _no_timing(b)
    assert not set(KPIS) & set(a.daily.columns)
    assert "returns" not in a.info


def test_rate_zero_returns_nothing_and_decides_the_same(
    stream: tuple[Scenario, list[Any], pl.DataFrame],
) -> None:
    net, orders, arrivals = stream
    base = simulate(net, orders, "greedy", arrivals=arrivals)
    zero = simulate(
        net,
        orders,
        "greedy",
        arrivals=arrivals,
        returns=Returns(rate={"web": 0.0, "app": 0.0}, to="nearest_store"),
    )
    assert base.decisions.equals(zero.decisions)
    assert base.daily.equals(zero.daily.drop(*KPIS))
    assert all(zero.kpis[k] == 0 for k in KPIS)
    assert {k: v for k, v in _no_timing(zero).items() if k not in KPIS} == _no_timing(
        base
    )
    assert zero.info["returns"].height == 0


def test_every_unit_comes_back_to_its_node_and_is_sold_again() -> None:
    scenario, orders = _two_orders()
    without = simulate(scenario, orders, "greedy", arrivals=[1.0, 40.0])
    assert _filled(without) == {"o0": 2, "o1": 0}  # stock would run out
    rule = Returns(rate={"web": 1.0}, delay_days=1.0, to="origin", restock_share=1.0)
    sim = simulate(scenario, orders, "greedy", arrivals=[1.0, 40.0], returns=rule)
    assert _filled(sim) == {"o0": 2, "o1": 2}
    back = sim.info["returns"]
    assert back.select("order_id", "from_node", "node_id", "returned").rows() == [
        ("o0", "W", "W", 2)
    ]
    assert back["hour"].to_list() == [25.0]  # the delay after o0's arrival at 1 h
    o1 = sim.decisions.filter(pl.col("order_id") == "o1")
    assert o1.select("node_id", "qty").rows() == [("W", 2)]
    # o1's own units come back at 64 h, after the last arrival: outside the run.
    assert sim.kpis["returned"] == 2 and sim.kpis["restocked"] == 2
    assert sim.kpis["sold_from_returns"] == 2
    day1 = sim.daily.filter(pl.col("day") == 1).row(0, named=True)
    assert (day1["returned"], day1["restocked"], day1["sold_from_returns"]) == (2, 2, 2)


def test_restocked_units_are_sold_before_older_stock() -> None:
    _, orders = _two_orders()
    scenario = make_scenario(stock=[{"node": "W", "sku": "A", "on_hand": 5}])
    rule = Returns(rate={"web": 1.0}, delay_days=1.0)
    sim = simulate(scenario, orders, "greedy", arrivals=[1.0, 40.0], returns=rule)
    assert _filled(sim) == {"o0": 2, "o1": 2}
    assert sim.kpis["restocked"] == 2
    # W still held 3 older units, yet o1's 2 units count as sold from the returns.
    assert sim.kpis["sold_from_returns"] == 2
    day1 = sim.daily.filter(pl.col("day") == 1).row(0, named=True)
    assert day1["sold_from_returns"] == 2


def test_a_return_before_the_order_is_not_yet_sellable() -> None:
    scenario, orders = _two_orders()
    rule = Returns(rate={"web": 1.0}, delay_days=2.0)  # back at 49 h; o1 at 40 h
    sim = simulate(scenario, orders, "greedy", arrivals=[1.0, 40.0], returns=rule)
    assert _filled(sim) == {"o0": 2, "o1": 0}
    assert sim.kpis["restocked"] == 0  # due after the last arrival


def test_return_to_a_store_without_the_sku_is_sold_there() -> None:
    # o1 is a pickup at store S, which never stocked A: only a return can serve it.
    scenario, orders = _two_orders(method="pickup", pickup_node="S", destination=None)
    without = simulate(scenario, orders, "greedy", arrivals=[1.0, 40.0])
    assert _filled(without) == {"o0": 2, "o1": 0}
    rule = Returns(rate={"web": 1.0}, delay_days=1.0, to="nearest_store")
    sim = simulate(scenario, orders, "greedy", arrivals=[1.0, 40.0], returns=rule)
    assert sim.info["returns"].select("from_node", "node_id").rows() == [("W", "S")]
    o1 = sim.decisions.filter(pl.col("order_id") == "o1")
    assert o1.select("node_id", "qty").rows() == [("S", 2)]
    assert sim.kpis["sold_from_returns"] == 2


def test_unsellable_returns_are_counted_and_never_sold() -> None:
    scenario, orders = _two_orders()
    rule = Returns(rate={"web": 1.0}, delay_days=1.0, restock_share=0.0)
    sim = simulate(scenario, orders, "greedy", arrivals=[1.0, 40.0], returns=rule)
    assert _filled(sim) == {"o0": 2, "o1": 0}
    assert sim.kpis["returned"] == 2 and sim.kpis["unsellable"] == 2
    assert sim.kpis["restocked"] == 0 and sim.kpis["sold_from_returns"] == 0


@pytest.mark.parametrize("replan_every", [None, 12.0])
def test_return_kpis_are_consistent(
    stream: tuple[Scenario, list[Any], pl.DataFrame], replan_every: float | None
) -> None:
    net, orders, arrivals = stream
    rule = Returns(
        rate={"web": 0.5, "app": 0.3},
        delay_days=0.5,
        to="nearest_store",
        restock_share=0.7,
        seed=11,
    )

    def run() -> Simulation:
        return simulate(
            net,
            orders,
            "greedy",
            arrivals=arrivals,
            returns=rule,
            replan_every=replan_every,
            replan_solver="greedy",
        )

    sim = run()
    daily = sim.daily
    assert set(KPIS) <= set(daily.columns)
    assert (daily["restocked"] <= daily["returned"]).all()
    assert (daily["unsellable"] == daily["returned"] - daily["restocked"]).all()
    for k in KPIS:
        assert daily[k].sum() == sim.kpis[k]
    assert 0 < sim.kpis["sold_from_returns"] <= sim.kpis["restocked"]
    assert 0 < sim.kpis["restocked"] < sim.kpis["returned"]
    # Only allocated units come back, only from channels with a rate.
    back = sim.info["returns"]
    shipped = sim.decisions.filter(pl.col("node_id").is_not_null())
    per_line = back.group_by("order_id", "sku").agg(pl.col("returned").sum())
    joined = per_line.join(
        shipped.group_by("order_id", "sku").agg(pl.col("qty").sum()),
        on=["order_id", "sku"],
        how="left",
    )
    assert (joined["returned"] <= joined["qty"]).all()
    channel = {o.id: o.channel for o in orders}
    assert {channel[o] for o in back["order_id"]} <= {"web", "app"}
    # The seed of the rule decides the draws: the same run again is the same.
    assert run().info["returns"].equals(back)


@pytest.mark.parametrize(
    ("kwargs", "argument", "value"),
    [
        ({"rate": {"web": 1.5}}, "rate", "1.5"),
        ({"rate": {"web": -0.1}}, "rate", "-0.1"),
        ({"rate": {"web": "high"}}, "rate", "'high'"),
        ({"rate": {"": 0.1}}, "rate", "''"),
        ({"rate": [0.1]}, "rate", "[0.1]"),
        ({"rate": {"web": 0.1}, "delay_days": -1}, "delay_days", "-1"),
        ({"rate": {"web": 0.1}, "delay_days": float("nan")}, "delay_days", "nan"),
        ({"rate": {"web": 0.1}, "restock_share": 2}, "restock_share", "2"),
        ({"rate": {"web": 0.1}, "to": "home"}, "to", "'home'"),
        ({"rate": {"web": 0.1}, "seed": 1.5}, "seed", "1.5"),
    ],
)
def test_bad_returns_raise_invalid_argument(
    kwargs: dict[str, Any], argument: str, value: str
) -> None:
    with pytest.raises(InvalidArgument) as info:
        Returns(**kwargs)
    assert info.value.argument == argument
    assert value in str(info.value)


def test_an_unknown_channel_is_refused() -> None:
    scenario, orders = _two_orders()
    with pytest.raises(InvalidArgument, match="unknown channel 'wbe'") as info:
        simulate(scenario, orders, "greedy", returns=Returns(rate={"wbe": 0.2}))
    assert info.value.argument == "rate"
