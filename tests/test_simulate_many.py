"""simulate_many and sweep: one KPI row per run, the same on a cluster as in a loop."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor

import polars as pl
import pytest

from omnistock import InvalidArgument, samples, simulate, simulate_many, sweep
from omnistock.model.scenario import Scenario

# The one KPI measured in wall time; every other is a function of the run.
TIMED = ["decision_us_per_order"]


@pytest.fixture(scope="module")
def net() -> Scenario:
    return samples.network("small", seed=1)


@pytest.fixture(scope="module")
def runs(net: Scenario) -> list[dict[str, object]]:
    return sweep(
        policies=["greedy", "nearest"],
        demand_seeds=range(3),
        network=net,
        n_orders=200,
        days=2.0,
    )


def _loop(runs: list[dict[str, object]]) -> pl.DataFrame:
    rows = []
    for run in runs:
        net = run["network"]
        assert isinstance(net, Scenario)
        seed = int(run["demand_seed"])  # type: ignore[call-overload]
        orders = samples.orders(net, 200, seed=seed)
        arrivals = samples.orders_frame(net, 200, seed=seed, days=2.0)
        sim = simulate(
            net,
            orders,
            str(run["policy"]),
            arrivals=arrivals.select("order_id", "arrival"),
        )
        rows.append(sim.kpis)
    return pl.DataFrame(rows).drop(TIMED)


def test_sweep_lists_every_policy_on_every_seed(net: Scenario) -> None:
    runs = sweep(
        policies=["greedy", "nearest"], demand_seeds=[7, 8], network=net, n_orders=5
    )
    assert [(r["policy"], r["demand_seed"]) for r in runs] == [
        ("greedy", 7),
        ("greedy", 8),
        ("nearest", 7),
        ("nearest", 8),
    ]
    assert all(r["network"] is net and r["n_orders"] == 5 for r in runs)


def test_simulate_many_in_process_is_the_loop_of_simulate_calls(
    runs: list[dict[str, object]],
) -> None:
    frame = simulate_many(runs)
    assert frame["run"].to_list() == list(range(6))
    assert frame["policy"].to_list() == ["greedy"] * 3 + ["nearest"] * 3
    assert frame["demand_seed"].to_list() == [0, 1, 2] * 2
    kpis = frame.drop(["run", "policy", "demand_seed", "n_orders", "days", *TIMED])
    assert kpis.equals(_loop(runs))
    # Each seed draws its own demand: the runs of one policy differ.
    assert frame["objective"].n_unique() == 6


def test_simulate_many_on_a_process_pool_equals_in_process(
    runs: list[dict[str, object]],
) -> None:
    # polars is not fork-safe (its thread pool): a process pool of simulations spawns.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        there = simulate_many(runs, executor=pool)
    assert there.drop(TIMED).equals(simulate_many(runs).drop(TIMED))


def test_simulate_many_with_given_orders(net: Scenario) -> None:
    orders = samples.orders(net, 50, seed=4)
    frame = simulate_many([{"network": net, "orders": orders, "policy": "nearest"}])
    expected = simulate(net, orders, "nearest").kpis
    assert frame.drop(["run", "policy", *TIMED]).row(0, named=True) == {
        k: v for k, v in expected.items() if k not in TIMED
    }


@pytest.mark.parametrize(
    ("run", "needle"),
    [
        ({"n_orders": 5}, "no 'network'"),
        ({"network": "small", "n_orders": 5}, "no 'network'"),
        ({"policy": "greedy"}, "neither 'orders' nor 'n_orders'"),
        ({"orders": [], "n_orders": 5}, "both 'orders' and 'n_orders'"),
    ],
)
def test_a_bad_run_is_named_before_any_runs(
    net: Scenario, run: dict[str, object], needle: str
) -> None:
    good = {"network": net, "n_orders": 5}
    if "network" not in run and needle != "no 'network'":
        run = {"network": net, **run}
    with pytest.raises(InvalidArgument, match=needle) as err:
        simulate_many([good, run])
    assert "run 1" in str(err.value)


def test_simulate_many_on_a_local_cluster_is_the_loop(
    runs: list[dict[str, object]],
) -> None:
    pytest.importorskip(
        "distributed",
        reason="the dask extra is not installed (pip install 'omnistock[dask]')",
    )
    from omnistock import make_executor

    with make_executor(workers=2) as client:
        assert isinstance(client, Executor) or hasattr(client, "scatter")
        there = simulate_many(runs, executor=client)
    kpis = there.drop(["run", "policy", "demand_seed", "n_orders", "days", *TIMED])
    assert kpis.equals(_loop(runs))
