"""The command line: sample, solve, demo; bad input is one paragraph and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from omnistock import Plan, Scenario
from omnistock.cli import main
from tests.helpers import GOLDEN


def test_sample_then_solve_writes_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario_path = tmp_path / "day.json"
    assert (
        main(
            [
                "sample",
                "small",
                "--orders",
                "30",
                "--seed",
                "3",
                "--out",
                str(scenario_path),
            ]
        )
        == 0
    )
    scenario = Scenario.from_json(scenario_path)
    assert len(scenario.orders) == 30
    for out in ("plan.json", "plan.parquet"):
        assert (
            main(
                [
                    "solve",
                    str(scenario_path),
                    "--solver",
                    "null",
                    "--out",
                    str(tmp_path / out),
                ]
            )
            == 0
        )
    plan = Plan.from_json(tmp_path / "plan.json")
    plan.check(scenario)
    assert Plan.read_parquet(tmp_path / "plan.parquet").objective == plan.objective
    assert "plan written to" in capsys.readouterr().out


def test_sample_is_deterministic(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        assert (
            main(
                [
                    "sample",
                    "small",
                    "--orders",
                    "5",
                    "--seed",
                    "7",
                    "--out",
                    str(tmp_path / name),
                ]
            )
            == 0
        )
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_demo_prints_a_kpi_row_per_solver(capsys: pytest.CaptureFixture[str]) -> None:
    from omnistock import available_solvers

    assert main(["demo", "--orders", "40", "--time-limit", "5"]) == 0
    out = capsys.readouterr().out
    for name in available_solvers():
        assert name in out
    assert "passed plan.check()" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solve", "missing.json"], "scenario path 'missing.json' does not exist"),
        (
            ["solve", str(GOLDEN / "scenario_01.json"), "--solver", "optimum"],
            "solver must be one of",
        ),
        (
            [
                "solve",
                str(GOLDEN / "scenario_01.json"),
                "--out",
                "plan.txt",
                "--solver",
                "null",
            ],
            "--out must end in .json or .parquet",
        ),
        (["sample", "galaxy", "--out", "x.json"], "galaxy"),
    ],
)
def test_bad_input_is_one_paragraph_and_exit_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_invalid_scenario_file_names_the_fault(tmp_path: Path) -> None:
    data = json.loads((GOLDEN / "scenario_01.json").read_text())
    data["stock"][0]["reserved"] = 99
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    result = subprocess.run(
        [sys.executable, "-m", "omnistock", "solve", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "reserved must be <= on_hand. Got reserved=99, on_hand=2" in result.stderr
    assert "Traceback" not in result.stderr
