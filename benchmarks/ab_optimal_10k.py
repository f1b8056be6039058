"""Same-run A/B of ``optimal`` on 10,000 "medium" orders, flat or carrier costs (issue 14).

Run it once per tree, one after the other (docs/benchmarks.md):

    PYTHONPATH=/work/wt/baseline/src prlimit --as=6000000000 -- \
        python benchmarks/ab_optimal_10k.py carrier
    PYTHONPATH=$PWD/src prlimit --as=6000000000 -- python benchmarks/ab_optimal_10k.py carrier

``samples.network("medium", 0[, costs="carrier"])`` with ``samples.orders(net,
10_000, seed=0)``, compiled and the kernels warmed outside the timing; then the
whole ``solve(scenario, solver="optimal")`` call with the default options (60 s,
gap 0), then with ``gap=0.01``. Prints wall time, status, objective, bound, gap
and the load average before and after.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import omnistock
from omnistock import samples, solve


def main(costs: str) -> None:
    if costs == "flat":  # a tree without ``costs=`` (before v1.1) runs this one
        net = samples.network("medium", 0)
    else:
        net = samples.network("medium", 0, costs=costs)
    scenario = net.with_orders(samples.orders(net, 10_000, seed=0))
    scenario.compiled()
    solve(net.with_orders(samples.orders(net, 50, seed=1)), solver="optimal")
    tree = omnistock.__file__.split("/src/")[0]
    runs: list[dict[str, Any]] = [{}, {"gap": 0.01}]
    for options in runs:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        plan = solve(scenario, solver="optimal", **options)
        seconds = time.perf_counter() - start
        print(
            f"{tree} {costs} {options or 'default'}: {seconds:.1f} s, "
            f"{plan.status.value}, objective {plan.objective:,.2f}, "
            f"bound {plan.bound:,.2f}, gap {plan.gap:.4%}, "
            f"load {load:.2f}->{os.getloadavg()[0]:.2f}, {time.strftime('%H:%M:%S')}",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1])
