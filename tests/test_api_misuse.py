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
