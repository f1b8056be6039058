"""The command line covers the four jobs: solve, check/explain, replan, simulate (issue 13, 7)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from omnistock import Plan, Scenario, samples
from omnistock.cli import main


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A day of 40 sample orders on 'small', and its greedy plan beside it."""
    folder = tmp_path_factory.mktemp("day")
    network = samples.network("small", seed=1)
    network.with_orders(samples.orders(network, 40, seed=1)).to_json(
        folder / "day.json"
    )
    assert (
        main(["solve", str(folder / "day.json"), "--out", str(folder / "plan.json")])
        == 0
    )
    return folder


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version_and_help_name_the_solvers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out.startswith("omnistock ")
    code, out, _ = _run(["--help"], capsys)
    assert code == 0 and "greedy" in out and "optimal" in out and "lookahead" in out
    for command in (
        "solve",
        "sample",
        "check",
        "explain",
        "replan",
        "simulate",
        "demo",
    ):
        code, out, _ = _run([command, "--help"], capsys)
        assert code == 0 and "example:" in out and f"omnistock {command}" in out


def test_every_solver_option_is_reachable_and_checked(
    day: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = str(day / "day.json")
    args = [
        "solve",
        scenario,
        "--solver",
        "optimal",
        "--gap",
        "0.01",
        "-o",
        "threads=1",
    ]
    code, out, _ = _run([*args, "-o", "backend=highs", "--quiet"], capsys)
    assert code == 0 and "solver optimal" in out
    code, _, err = _run([*args, "-o", "backend=gurobi"], capsys)
    assert code == 2 and "backend" in err and "gurobi" in err and err.count("\n") == 1
    code, _, err = _run(["solve", scenario, "-o", "threads"], capsys)
    assert code == 2 and "NAME=VALUE" in err


def test_solve_writes_csv_and_standard_output(
    day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = str(day / "day.json")
    code, _, _ = _run(["solve", scenario, "--out", str(tmp_path / "plan.csv")], capsys)
    table = pl.read_csv(tmp_path / "plan.csv")
    assert code == 0 and table.columns == ["order_id", "sku", "node_id", "qty"]
    code, out, err = _run(["solve", scenario, "--out", "-"], capsys)
    assert code == 0 and out.startswith("order_id,sku,node_id,qty\n")
    assert "solver greedy" in err  # the summary stays off the data stream
    assert out.count("\n") == table.height + 1


def test_sample_writes_json_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(
        ["sample", "small", "--out", str(tmp_path / "x.parquet")], capsys
    )
    assert code == 2 and "--out must end in .json" in err
    assert not (tmp_path / "x.parquet").exists()
    code, out, _ = _run(["sample", "small", "--orders", "3", "--out", "-"], capsys)
    assert code == 0 and len(Scenario.model_validate_json(out).orders) == 3


def test_check_passes_a_good_plan_and_fails_a_broken_one(
    day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, plan = str(day / "day.json"), str(day / "plan.json")
    code, out, _ = _run(["check", scenario, plan], capsys)
    assert code == 0 and "passes every rule" in out
    data = json.loads((day / "plan.json").read_text())
    data["allocations"][0]["qty"] += 1000  # more than any node holds
    (tmp_path / "bad.json").write_text(json.dumps(data))
    code, _, err = _run(["check", scenario, str(tmp_path / "bad.json")], capsys)
    assert code == 1 and "breaks the rules" in err
    code, _, err = _run(["check", scenario, str(day / "day.json")], capsys)
    assert code == 2 and "not a plan" in err


def test_explain_one_order(
    day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = Plan.from_json(day / "plan.json")
    order_id = plan.allocations["order_id"][0]
    args = [
        "explain",
        str(day / "day.json"),
        str(day / "plan.json"),
        "--order",
        order_id,
    ]
    code, out, _ = _run(args, capsys)
    assert code == 0 and "eligible" in out
    code, _, _ = _run([*args, "--out", str(tmp_path / "why.csv")], capsys)
    frame = pl.read_csv(tmp_path / "why.csv")
    assert code == 0 and frame["chosen"].sum() >= 1
    code, _, err = _run([*args[:-1], "NO-SUCH-ORDER"], capsys)
    assert code == 2 and "NO-SUCH-ORDER" in err


def test_replan_writes_the_moves_and_the_new_plan(
    day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, plan = str(day / "day.json"), str(day / "plan.json")
    moves, new = tmp_path / "moves.csv", tmp_path / "new.json"
    args = ["replan", scenario, plan, "--time-limit", "10", "--out", str(moves)]
    code, out, _ = _run([*args, "--plan-out", str(new)], capsys)
    assert code == 0 and "re-plan saves" in out
    table = pl.read_csv(moves)
    assert table.columns == ["order_id", "sku", "from_node", "to_node", "qty"]
    assert Plan.from_json(new).objective <= Plan.from_json(plan).objective + 1e-6
    code, _, _ = _run([*args, "--max-moves", "0"], capsys)
    assert code == 0 and pl.read_csv(moves).height == 0


def test_simulate_prints_kpis_and_writes_the_days(
    day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = str(day / "day.json")
    out_file = tmp_path / "daily.csv"
    args = ["simulate", scenario, scenario, "--policy", "priority", "--days", "2"]
    code, out, _ = _run([*args, "--refill", "--out", str(out_file)], capsys)
    assert code == 0 and "cost_per_order" in out and "priority" in out
    assert pl.read_csv(out_file)["day"].to_list() == [0, 1]
    code, _, err = _run([*args[:-2], "--policy", "nope"], capsys)
    assert code == 2 and "nope" in err


@pytest.mark.parametrize("quiet", [False, True])
def test_a_cold_cache_notice_reaches_stderr_unless_quiet(
    day: Path,
    quiet: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The command line hands the warm-up its stderr, so a cold first run is never
    silent (the compile itself: tests/test_progress.py, one cold start)."""
    import omnistock.progress

    asked: list[str] = []

    def cold(solvers: list[str] | None, *, notice: object = None) -> float:
        asked.extend(solvers or [])
        if notice is not None:
            print(omnistock.progress.NOTICE, file=notice)  # type: ignore[call-overload]
        return 0.0

    monkeypatch.setattr(omnistock.progress, "ensure_kernels", cold)
    args = ["solve", str(day / "day.json"), "--solver", "priority"]
    code, _, err = _run([*args, "--quiet"] if quiet else args, capsys)
    assert code == 0 and asked == ["priority"]
    assert (omnistock.progress.NOTICE in err) is not quiet


def test_a_solver_without_progress_reports_still_shows_a_moving_line(
    day: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never silent over 2 s: greedy (one kernel call) gets the elapsed seconds."""
    import time

    import omnistock.cli.commands
    import omnistock.solving

    real = omnistock.solving.solve

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(1.3)  # a long kernel call, as a huge batch would be
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(omnistock.solving, "solve", slow)
    monkeypatch.setattr(omnistock.cli.commands, "TICK_AFTER", 0.0)
    code, _, err = _run(["solve", str(day / "day.json"), "--solver", "greedy"], capsys)
    assert code == 0
    assert err.count("greedy: solving") >= 2  # at once, then a second later


def test_solve_on_a_local_cluster_gives_the_in_process_plan(
    day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--workers N runs the batch's components on a local Dask cluster (issue 17, 3)."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    scenario = str(day / "day.json")
    out = tmp_path / "cluster.json"
    code, _, err = _run(
        ["solve", scenario, "--workers", "2", "--quiet", "--out", str(out)], capsys
    )
    assert code == 0, err
    local = Plan.from_json(day / "plan.json")
    assert Plan.from_json(out).allocations.equals(local.allocations)
    code, _, err = _run(["solve", scenario, "--workers", "0"], capsys)
    assert code == 2 and "workers must be >= 1" in err
