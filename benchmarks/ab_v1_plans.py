"""A digest of every plan of every v1 scenario, to diff between two trees (issue 14).

    PYTHONPATH=/work/wt/baseline/src python benchmarks/ab_v1_plans.py > before.txt
    PYTHONPATH=$PWD/src python benchmarks/ab_v1_plans.py > after.txt
    diff before.txt after.txt   # empty: byte-identical plans

Scenarios: tests/data/golden and ../shared/golden (every solver but null), and 500
orders on "small" and "medium" (greedy, priority, lookahead). The digest covers the
allocation and unfilled frames, the objective, the breakdown, the status and the bound.
"""

from __future__ import annotations

import glob
import hashlib
from pathlib import Path

from omnistock import Scenario, samples, solve

ROOT = Path(__file__).resolve().parent.parent
SOLVERS = ("greedy", "priority", "nearest", "most_stock", "lookahead", "optimal")


def main() -> None:
    # ../shared/golden beside the checkout (a worktree one level deeper finds it too).
    shared = [ROOT.parent / "shared/golden", ROOT.parent.parent / "shared/golden"]
    paths = sorted({p for d in shared for p in glob.glob(str(d / "*.json"))})
    paths += sorted(glob.glob(str(ROOT / "tests/data/golden/*.json")))
    for path in paths:
        try:
            scenario = Scenario.from_json(path)
        except ValueError:  # expected.json and the like
            continue
        for solver in SOLVERS:
            plan = solve(scenario, solver=solver)
            blob = (
                plan.allocations.write_csv()
                + plan.unfilled.write_csv()
                + repr((plan.objective, plan.cost_breakdown, plan.status, plan.bound))
            )
            digest = hashlib.sha1(blob.encode()).hexdigest()[:12]
            print(Path(path).name, solver, digest, repr(plan.objective))
    for name, seed in (("small", 1), ("medium", 2)):
        net = samples.network(name, seed)
        scenario = net.with_orders(samples.orders(net, 500, seed))
        for solver in ("greedy", "priority", "lookahead"):
            plan = solve(scenario, solver=solver)
            blob = plan.allocations.write_csv() + repr(
                (plan.objective, plan.cost_breakdown)
            )
            digest = hashlib.sha1(blob.encode()).hexdigest()[:12]
            print(name, solver, digest, repr(plan.objective))


if __name__ == "__main__":
    main()
