"""Python API misuse: the library's own error saying what was expected (issue 13, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from omnistock import InvalidArgument, Plan, solve
from tests.helpers import make_scenario


def test_solve_takes_a_dict_or_a_path(tmp_path: Path) -> None:
    scenario = make_scenario()
    expected = solve(scenario).objective
    assert solve(json.loads(scenario.model_dump_json())).objective == expected
    scenario.to_json(tmp_path / "day.json")
    assert solve(tmp_path / "day.json").objective == expected
    assert solve(str(tmp_path / "day.json")).objective == expected


def test_solve_names_what_it_expected_for_anything_else() -> None:
    with pytest.raises(InvalidArgument, match=r"solve: scenario must be .* Got a list"):
        solve([1, 2])  # type: ignore[arg-type]


def test_plan_from_json_of_a_scenario_file_says_it_is_not_a_plan(
    tmp_path: Path,
) -> None:
    make_scenario().to_json(tmp_path / "day.json")
    with pytest.raises(
        InvalidArgument, match=r"not a plan written by Plan\.to_json"
    ) as info:
        Plan.from_json(tmp_path / "day.json")
    assert "allocations" in str(info.value)
    assert (info.value.function, info.value.argument) == (
        "Plan.from_json",
        "text_or_path",
    )


def test_plan_from_json_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="cannot read a plan"):
        Plan.from_json(tmp_path / "nope.json")


def test_plan_read_parquet_of_another_parquet_file(tmp_path: Path) -> None:
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "other.parquet")
    with pytest.raises(InvalidArgument, match="no plan metadata"):
        Plan.read_parquet(tmp_path / "other.parquet")
    (tmp_path / "garbage.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(
        InvalidArgument, match=r"not a plan written by Plan\.to_parquet"
    ):
        Plan.read_parquet(tmp_path / "garbage.parquet")


def test_plan_round_trips_still_work(tmp_path: Path) -> None:
    scenario = make_scenario()
    plan = solve(scenario)
    plan.to_parquet(tmp_path / "plan.parquet")
    assert Plan.read_parquet(tmp_path / "plan.parquet").objective == plan.objective
    assert Plan.from_json(plan.to_json()).objective == plan.objective


def _frames() -> dict[str, pl.DataFrame]:
    from omnistock.model.io import scenario_to_frames

    return scenario_to_frames(make_scenario())


def test_from_frames_takes_pandas_and_pyarrow_tables() -> None:
    from omnistock import Scenario

    frames = _frames()
    expected = Scenario.from_frames(**frames)
    pandas = pytest.importorskip("pandas")
    assert isinstance(frames["stock"].to_pandas(), pandas.DataFrame)
    as_pandas = {k: v.to_pandas() for k, v in frames.items()}
    assert Scenario.from_frames(**as_pandas) == expected
    as_arrow = {k: v.to_arrow() for k, v in frames.items()}
    assert Scenario.from_frames(**as_arrow) == expected


def test_with_orders_takes_an_orders_and_a_lines_table() -> None:
    scenario = make_scenario()
    frames = _frames()
    again = scenario.with_orders(
        frames["orders"].to_arrow(), frames["lines"].to_arrow()
    )
    assert again.orders == scenario.orders


def test_from_frames_names_a_frame_of_the_wrong_type() -> None:
    from omnistock import Scenario, ScenarioError

    frames: dict[str, object] = dict(_frames())
    frames["stock"] = [{"node": "W", "sku": "A", "on_hand": 1}]
    with pytest.raises(
        ScenarioError,
        match=r"stock frame: expected a polars, pandas or pyarrow table\. Got a builtins\.list",
    ):
        Scenario.from_frames(**frames)  # type: ignore[arg-type]


def test_write_scenario_frames_names_a_bad_format(tmp_path: Path) -> None:
    from omnistock.model.io import write_scenario_frames

    with pytest.raises(
        InvalidArgument, match=r"fmt must be 'parquet' or 'csv'\. Got 'xlsx'"
    ):
        write_scenario_frames(make_scenario(), tmp_path, fmt="xlsx")
