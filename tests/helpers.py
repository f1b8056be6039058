"""Test helpers: load scenarios from tests/data, build small ones by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omnistock import Scenario
from omnistock.plan import Plan

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"


def load(name: str) -> Scenario:
    """The scenario tests/data/<name>.json (or golden/<name>.json)."""
    for path in (DATA / f"{name}.json", GOLDEN / f"{name}.json"):
        if path.exists():
            return Scenario.from_json(path)
    raise FileNotFoundError(name)


def golden_cases() -> list[tuple[str, int, float]]:
    """(file, orders, optimal objective) of every worked scenario."""
    rows = json.loads((GOLDEN / "expected.json").read_text())
    return [(r["file"], r["orders"], r["optimal_objective"]) for r in rows]


def make_scenario(**overrides: Any) -> Scenario:
    """A tiny valid scenario (two nodes, one order) with parts replaced by ``overrides``.

    Nodes: warehouse W (Paris) and store S (Lyon, offers pickup and same_day).
    """
    data: dict[str, Any] = {
        "nodes": [
            {"id": "W", "kind": "warehouse", "lat": 48.8566, "lon": 2.3522},
            {
                "id": "S",
                "kind": "store",
                "lat": 45.7640,
                "lon": 4.8357,
                "methods": ["ship", "pickup", "same_day"],
            },
        ],
        "stock": [
            {"node": "W", "sku": "A", "on_hand": 10},
            {"node": "S", "sku": "A", "on_hand": 3},
        ],
        "orders": [
            {
                "id": "o1",
                "destination": {"lat": 45.75, "lon": 4.85},
                "lines": [{"sku": "A", "qty": 2}],
            }
        ],
    }
    data.update(overrides)
    return Scenario.model_validate(data)


def plan_of(scenario: Scenario, triples: Any, solver: str = "optimal") -> Plan:
    """A Plan of ``scenario`` from (line, node, qty) triples of a solver's internals."""
    from omnistock.solvers.base import Solution, SolveStatus

    solution = Solution(
        line_idx=triples[:, 0],
        node_idx=triples[:, 1],
        qty=triples[:, 2],
        status=SolveStatus.FEASIBLE,
    )
    return Plan.from_solution(
        scenario.compiled(), solution, solver=solver, solve_time=0.0
    )
