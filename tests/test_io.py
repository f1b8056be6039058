"""Round trips: JSON, frames, parquet/CSV folders; the JSON Schema is not stale."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given

from omnistock import Scenario, ScenarioError
from omnistock.model.io import read_scenario, scenario_to_frames, write_scenario_frames
from omnistock.testing import scenarios
from tests.helpers import GOLDEN, golden_cases, make_scenario

DOCS = Path(__file__).parents[1] / "docs"


@pytest.mark.parametrize(("file", "n_orders", "optimum"), golden_cases())
def test_worked_scenarios_load_compile_and_round_trip(
    file: str, n_orders: int, optimum: float
) -> None:
    scenario = Scenario.from_json(GOLDEN / file)
    assert len(scenario.orders) == n_orders
    again = Scenario.model_validate_json(scenario.model_dump_json())
    assert again == scenario
    compiled = scenario.compiled()
    assert compiled.orders.n_orders == n_orders
    assert compiled.network.n_nodes == len(scenario.nodes)
    assert int(compiled.orders.line_qty.sum()) == sum(
        ln.qty for o in scenario.orders for ln in o.lines
    )


@given(scenarios(max_nodes=4, max_orders=4))
def test_json_round_trip_of_random_scenarios(scenario: Scenario) -> None:
    assert Scenario.model_validate_json(scenario.model_dump_json()) == scenario
    assert Scenario.model_validate(json.loads(scenario.to_json())) == scenario


@given(scenarios(max_nodes=4, max_orders=4))
def test_frames_round_trip_of_random_scenarios(scenario: Scenario) -> None:
    frames = scenario_to_frames(scenario)
    again = Scenario.from_frames(**frames, rules=scenario.rules, costs=scenario.costs)
    assert again == scenario


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_folder_round_trip(tmp_path: Path, fmt: str) -> None:
    scenario = Scenario.from_json(GOLDEN / "scenario_05.json")
    write_scenario_frames(scenario, tmp_path, fmt=fmt)
    assert (tmp_path / f"nodes.{fmt}").exists()
    assert read_scenario(tmp_path) == scenario


def test_from_frames_builds_orders_from_lines() -> None:
    nodes = pl.DataFrame(
        {"id": ["W"], "kind": ["warehouse"], "lat": [48.0], "lon": [2.0]}
    )
    stock = pl.DataFrame({"node": ["W"], "sku": ["A"], "on_hand": [4]})
    orders = pl.DataFrame(
        {"id": ["o1", "o2"], "dest_lat": [45.0, 46.0], "dest_lon": [4.0, 5.0]}
    )
    lines = pl.DataFrame(
        {"order_id": ["o1", "o1", "o2"], "sku": ["A", "B", "A"], "qty": [1, 2, 3]}
    )
    s = Scenario.from_frames(nodes=nodes, stock=stock, orders=orders, lines=lines)
    assert [(ln.sku, ln.qty) for ln in s.orders[0].lines] == [("A", 1), ("B", 2)]
    assert s.orders[1].destination is not None and s.orders[1].destination.lat == 46.0
    assert s.nodes[0].methods == ("ship",)


def test_from_frames_rejects_lines_of_unknown_orders() -> None:
    frames = scenario_to_frames(make_scenario())
    bad_lines = pl.DataFrame({"order_id": ["ghost"], "sku": ["A"], "qty": [1]})
    with pytest.raises(
        ScenarioError, match="order_id 'ghost' is not in the orders frame"
    ):
        Scenario.from_frames(
            nodes=frames["nodes"],
            stock=frames["stock"],
            orders=frames["orders"],
            lines=bad_lines,
        )


def test_from_frames_names_a_missing_column() -> None:
    frames = scenario_to_frames(make_scenario())
    with pytest.raises(
        ScenarioError, match=r"stock frame: missing column\(s\) \['on_hand'\]"
    ):
        Scenario.from_frames(**{**frames, "stock": frames["stock"].drop("on_hand")})


def test_read_scenario_names_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="does not exist"):
        read_scenario(tmp_path / "nope.json")


def test_json_schema_file_is_current() -> None:
    stored = (DOCS / "scenario.schema.json").read_text()
    assert stored == Scenario.json_schema_text(), (
        "docs/scenario.schema.json is stale: regenerate it with "
        'python -c "from omnistock import Scenario; '
        "open('docs/scenario.schema.json','w').write(Scenario.json_schema_text())\""
    )


def test_every_contract_field_is_documented() -> None:
    text = (DOCS / "scenario.md").read_text()
    schema = Scenario.json_schema()
    for model in schema["$defs"].values():
        for field in model.get("properties", {}):
            assert f"`{field}`" in text, f"docs/scenario.md does not document {field!r}"
