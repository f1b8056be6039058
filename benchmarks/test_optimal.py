"""Time of the ``optimal`` solver to a 1 % gap and to its end, on "medium".

``solve(scenario, solver="optimal", gap=..., time_limit=...)`` on 1,000 / 10,000 /
100,000 seeded orders of the seed-0 "medium" network; the timed region is the
whole ``solve`` call (warm start by greedy, candidates, components, column
generation, MILP, the Plan). The same orders' greedy and "priority" objectives
are the same-run baselines (solved outside the timed region). Targets on 2 cores:
10,000 orders within 1 % of the bound in <= 60 s; time per order growing no
faster than linearly from 10,000 to 100,000 orders.
"""

from __future__ import annotations

import pytest

from omnistock import solve

# (orders, gap, time limit in s): gap 0 asks for a proof, ended by the limit.
RUNS = [
    (1_000, 0.01, 60.0),
    (1_000, 0.0, 60.0),
    (10_000, 0.01, 60.0),
    (10_000, 0.0, 60.0),
    (100_000, 0.01, 300.0),
    (100_000, 0.0, 300.0),
]


@pytest.mark.parametrize(
    ("n", "gap", "time_limit"), RUNS, ids=[f"{r[0]}-gap{r[1]}" for r in RUNS]
)
def test_optimal_time_to_gap(
    benchmark, medium_network, order_batch, warm_up, n, gap, time_limit
):
    scenario = medium_network.with_orders(order_batch("medium", n, seed=0))
    warm_up("greedy")
    warm_up("optimal")
    _time_to_gap(benchmark, scenario, "medium", n, gap, time_limit)


# Contract v1.1 carrier costs (issue 14): the same orders, a rate card, weights and
# the unfilled-order charge; v1.1 batches go through the decomposition too.
CARRIER_RUNS = [(10_000, 0.01, 60.0), (10_000, 0.0, 60.0)]


@pytest.mark.parametrize(
    ("n", "gap", "time_limit"),
    CARRIER_RUNS,
    ids=[f"{r[0]}-gap{r[1]}-carrier" for r in CARRIER_RUNS],
)
def test_optimal_time_to_gap_carrier(
    benchmark, sample_network, order_batch, warm_up, n, gap, time_limit
):
    network = sample_network("medium", costs="carrier")
    scenario = network.with_orders(order_batch("medium", n, seed=0, costs="carrier"))
    warm_up("greedy", costs="carrier")
    warm_up("optimal", costs="carrier")
    _time_to_gap(benchmark, scenario, "medium carrier", n, gap, time_limit)


def _time_to_gap(benchmark, scenario, label, n, gap, time_limit):  # type: ignore[no-untyped-def]
    """Time one ``optimal`` solve (compiled before) and record it beside greedy and priority."""
    scenario.compiled()  # compile outside the timed region
    plan = benchmark.pedantic(
        solve,
        args=(scenario,),
        kwargs={"solver": "optimal", "gap": gap, "time_limit": time_limit},
        rounds=1,
        iterations=1,
    )
    greedy = solve(scenario, solver="greedy")
    priority = solve(scenario, solver="priority")
    seconds = benchmark.stats.stats.median
    benchmark.extra_info.update(
        {
            "orders": n,
            "gap_asked": gap,
            "status": str(plan.status),
            "objective": plan.objective,
            "bound": plan.bound,
            "gap": plan.gap,
            "seconds_per_1k_orders": 1000 * seconds / n,
            "greedy_objective": greedy.objective,
            "priority_objective": priority.objective,
            "info": {
                k: v for k, v in plan.info.items() if isinstance(v, int | float | str)
            },
        }
    )
    print(
        f"\n{label} {n} gap {gap}: {seconds:.1f} s, {plan.status}, objective "
        f"{plan.objective:,.2f}, bound {plan.bound:,.2f}, gap {plan.gap:.4%}; greedy "
        f"{greedy.objective:,.2f} ({greedy.objective / plan.objective - 1:+.2%}), priority "
        f"{priority.objective:,.2f} ({priority.objective / plan.objective - 1:+.2%}); {plan.info}"
    )
