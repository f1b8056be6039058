"""Quickstart: a sample network, a day of orders, three solvers, their KPIs.

Run: python examples/quickstart.py [n_orders]
"""

from __future__ import annotations

import sys

import polars as pl

import omnistock
from omnistock import samples


def main(n_orders: int = 300) -> pl.DataFrame:
    network = samples.network("small", seed=1)
    scenario = network.with_orders(samples.orders(network, n_orders, seed=1))
    rows = []
    for solver in ("priority", "greedy", "optimal"):
        if solver not in omnistock.available_solvers():
            continue
        options = {"time_limit": 10.0} if solver == "optimal" else {}
        plan = omnistock.solve(scenario, solver=solver, **options)
        plan.check(scenario)  # every rule of docs/semantics.md, verified independently
        rows.append({"solver": solver, **plan.kpis()})
        print(plan.summary())
    table = pl.DataFrame(rows).select(
        "solver", "cost_per_order", "fill_rate", "packages_per_order", "mean_km"
    )
    print(table)
    return table


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
