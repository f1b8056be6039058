"""Batch throughput of the sourcing solvers, with "priority" as the same-run baseline.

``solve(scenario, solver=...)`` on 100,000 sample orders (cases "medium-100k" and
"large-100k"); the timed region is the whole ``solve`` call (the numba batch plus
building the Plan's frames). Each solver's objective and cost per order on the same
orders go into ``extra_info``. Targets on "large" (2 cores): greedy >= 20,000
orders/s; greedy's cost per order below every peer policy's. The "-carrier" cases
are the same on the contract v1.1 rate cards (``-k carrier``).
"""

from __future__ import annotations

import pytest

import cases
from omnistock import solve

SOLVERS = ["priority", "greedy", "nearest", "most_stock"]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    "case", ["medium-100k", "large-100k", "medium-100k-carrier", "large-100k-carrier"]
)
def test_batch_throughput(benchmark, case_scenario, warm_up, case, solver):
    scenario = case_scenario(case)
    scenario.compiled()  # compile outside the timed region
    warm_up(solver, cases.case(case).costs)
    plan = benchmark.pedantic(
        solve, args=(scenario,), kwargs={"solver": solver}, rounds=3
    )
    kpis = plan.kpis()
    n = len(scenario.orders)
    benchmark.extra_info.update(
        {
            "orders": n,
            "orders_per_s": n / benchmark.stats.stats.median,
            "solver_orders_per_s": n / plan.solve_time,
            "objective": plan.objective,
            "cost_per_order": kpis["cost_per_order"],
            "fill_rate": kpis["fill_rate"],
            "packages_per_order": kpis["packages_per_order"],
            "split_rate": kpis["split_rate"],
        }
    )
    print(
        f"\n{case} {solver}: {n / benchmark.stats.stats.median:,.0f} orders/s "
        f"(solver alone {n / plan.solve_time:,.0f}/s), cost/order {kpis['cost_per_order']:.3f}, "
        f"fill {kpis['fill_rate']:.4f}, packages/order {kpis['packages_per_order']:.3f}"
    )
