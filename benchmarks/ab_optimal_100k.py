"""Same-run A/B of ``optimal`` on 100,000 "medium" orders, whole call (issue 17, item 5).

Run it once per tree, one after the other (docs/benchmarks.md):

    PYTHONPATH=/tmp/before/src python benchmarks/ab_optimal_100k.py flat
    PYTHONPATH=$PWD/src        python benchmarks/ab_optimal_100k.py flat

``samples.network("medium", 0[, costs="carrier"])`` with ``samples.orders(net,
100_000, seed=0)``; the kernels are warmed on 50 orders first, the batch is *not*
compiled before: the timing is the whole ``solve(scenario, solver="optimal")``
call with its defaults (60 s, gap 0), compile included, which is what the issue's
"whole call within 75 s" counts. Prints wall time, status, gap, objective, bound,
the load average after, and the solve info's scalar entries.
"""

from __future__ import annotations

import os
import sys
import time

from omnistock import samples, solve


def main(costs: str) -> None:
    if costs == "flat":  # a tree without ``costs=`` (before v1.1) runs this one
        net = samples.network("medium", 0)
    else:
        net = samples.network("medium", 0, costs=costs)
    scenario = net.with_orders(samples.orders(net, 100_000, seed=0))
    solve(net.with_orders(samples.orders(net, 50, seed=0)), solver="optimal")
    began = time.perf_counter()
    plan = solve(scenario, solver="optimal")
    wall = time.perf_counter() - began
    print(
        f"{costs}: wall {wall:.1f} s, {plan.status}, gap {plan.gap:.4%}, "
        f"objective {plan.objective:,.2f}, bound {plan.bound:,.2f}, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    print({k: v for k, v in plan.info.items() if not isinstance(v, list | dict)})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "flat")
