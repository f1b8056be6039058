"""The command line: sample, solve, demo; bad input is one paragraph and exit code 2."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
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
            "--out must end in .json, .parquet or .csv",
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


# -- hostile input: exit 2, one line naming the file/field/option (issue 12, 16) --


def _bad(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI in-process; assert exit 2, one line on stderr, no traceback."""
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("omnistock")
    return err


def _scenario_with(tmp_path: Path, path: str, value: object) -> Path:
    """Golden scenario 01 with the item at a dotted path set to ``value``."""
    data = json.loads((GOLDEN / "scenario_01.json").read_text())
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    target = data
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    out = tmp_path / "bad.json"
    out.write_text(json.dumps(data))
    return out


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("stock.0.on_hand", 10**30, "on_hand must be <= 1099511627776"),
        ("orders.0.lines.0.qty", 10**30, "qty must be <= 1099511627776"),
        ("nodes.0.capacity", 10**30, "capacity must be <= 1099511627776"),
        ("nodes.0.priority", 10**30, "priority must be <= 1099511627776"),
        ("orders.0.max_splits", 10**30, "max_splits must be <= 1099511627776"),
        ("stock.0.on_hand", "12", "on_hand must be an integer. Got on_hand='12'"),
        ("orders.0.lines.0.qty", True, "qty must be an integer. Got qty=True"),
        ("costs.unfilled", 1e300, "unfilled must be <= 1e+06"),
    ],
    ids=["on_hand", "qty", "capacity", "priority", "max_splits", "str", "bool", "cost"],
)
def test_out_of_range_or_loose_numbers_exit_2_naming_file_and_field(
    path: str,
    value: object,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = _scenario_with(tmp_path, path, value)
    err = _bad(["solve", str(bad), "--solver", "null"], capsys)
    assert str(bad) in err and message in err


def test_infinity_in_json_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _scenario_with(tmp_path, "costs.package", 5.0)
    bad.write_text(bad.read_text().replace('"package": 5.0', '"package": Infinity'))
    err = _bad(["solve", str(bad)], capsys)
    assert "costs: package must be a finite number. Got package=inf" in err


def _csv_folder(tmp_path: Path) -> Path:
    from omnistock.model.io import write_scenario_frames

    folder = tmp_path / "day"
    write_scenario_frames(
        Scenario.from_json(GOLDEN / "scenario_01.json"), folder, fmt="csv"
    )
    return folder


def _set_cell(csv: Path, column: str, value: bytes) -> None:
    head, first, *rest = csv.read_bytes().split(b"\n")
    cells = first.split(b",")
    cells[head.split(b",").index(column.encode())] = value
    csv.write_bytes(b"\n".join([head, b",".join(cells), *rest]))


@pytest.mark.parametrize(
    ("file", "column", "cell", "message"),
    [
        ("stock.csv", "on_hand", b"twelve", "could not parse `twelve`"),
        ("lines.csv", "qty", b"2.5", "could not parse `2.5`"),
        ("stock.csv", "on_hand", b"1" * 30, "could not parse"),
        ("nodes.csv", "id", b"W\xff\xfe", "invalid utf-8"),
    ],
    ids=["word", "fraction", "huge", "not_utf8"],
)
def test_bad_csv_cell_exits_2_naming_the_file(
    file: str,
    column: str,
    cell: bytes,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = _csv_folder(tmp_path)
    _set_cell(folder / file, column, cell)
    err = _bad(["solve", str(folder)], capsys)
    assert str(folder / file) in err and message in err


def test_garbage_parquet_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _csv_folder(tmp_path)
    (folder / "orders.parquet").write_bytes(b"PAR1 not really a parquet file")
    err = _bad(["solve", str(folder)], capsys)
    assert str(folder / "orders.parquet") in err


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (b"{not json", "cannot read"),
        (b"[1, 2]", "must be an object with optional keys 'rules' and 'costs'"),
        (b'{"costs": {"unfilled": "x"}}', "costs: unfilled must be a number"),
        (
            b'{"rules": {"tier_weights": {"vip": -1}}}',
            "tier_weights['vip'] must be >= 0",
        ),
    ],
    ids=["not_json", "not_object", "bad_cost", "bad_weight"],
)
def test_bad_settings_json_exits_2_naming_the_file(
    settings: bytes,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = _csv_folder(tmp_path)
    (folder / "settings.json").write_bytes(settings)
    err = _bad(["solve", str(folder)], capsys)
    assert str(folder / "settings.json") in err and message in err


@pytest.fixture
def no_solve(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace ``solve`` with a recorder: a test then sees whether solving started."""
    import omnistock.solving

    calls: list[str] = []

    def recorder(*_: object, solver: str = "", **__: object) -> None:
        calls.append(solver)
        msg = "solve must not run"
        raise AssertionError(msg)

    monkeypatch.setattr(omnistock.solving, "solve", recorder)
    return calls


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("missing/plan.json", "does not exist"),
        (".", "is a directory"),
        ("plan.txt", "--out must end in .json, .parquet or .csv"),
        ("INPUT", "would overwrite the input"),
    ],
    ids=["missing_dir", "existing_dir", "suffix", "the_input"],
)
def test_bad_out_is_refused_before_solving(
    out: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_solve: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    scenario = tmp_path / "day.json"
    scenario.write_bytes((GOLDEN / "scenario_01.json").read_bytes())
    before = scenario.read_bytes()
    target = str(scenario) if out == "INPUT" else out
    err = _bad(["solve", str(scenario), "--solver", "optimal", "--out", target], capsys)
    assert message in err and "--out" in err
    assert no_solve == []  # refused before any solving
    assert scenario.read_bytes() == before


def test_out_may_not_replace_a_file_of_the_input_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_solve: list[str]
) -> None:
    folder = _csv_folder(tmp_path)
    for name in ("settings.json", "nodes.parquet"):
        err = _bad(["solve", str(folder), "--out", str(folder / name)], capsys)
        assert "would overwrite the input" in err
    assert no_solve == []
    assert not (folder / "nodes.parquet").exists()


def test_a_write_failure_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Plan, "to_json", full)
    out = tmp_path / "plan.json"
    err = _bad(["solve", str(GOLDEN / "scenario_01.json"), "--out", str(out)], capsys)
    assert f"cannot write {str(out)!r}: No space left on device" in err


@pytest.mark.parametrize(
    ("out", "message"),
    [("missing/x.json", "does not exist"), (".", "is a directory")],
    ids=["missing_dir", "existing_dir"],
)
def test_sample_bad_out_exits_2(
    out: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    err = _bad(["sample", "small", "--orders", "3", "--out", out], capsys)
    assert message in err and out in err


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "abc"])
def test_bad_time_limit_names_the_option(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["solve", str(GOLDEN / "scenario_01.json"), "--solver", "optimal"]
    err = _bad([*args, f"--time-limit={value}"], capsys)
    assert "--time-limit" in err and repr(value) in err
    assert "not a valid scenario" not in err


@pytest.fixture(scope="module")
def medium_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A day of 3,000 orders on "medium": optimal works on it for some seconds."""
    path = tmp_path_factory.mktemp("ctrl_c") / "day.json"
    assert main(["sample", "medium", "--orders", "3000", "--out", str(path)]) == 0
    return path


# The pause lands the signal in different phases: Python code, numba kernels,
# and the MILP back-end's native code (which once swallowed it and solved on).
@pytest.mark.parametrize("pause", [0.0, 0.3, 0.8])
def test_ctrl_c_during_optimal_exits_130_without_traceback(
    pause: float, medium_day: Path, tmp_path: Path
) -> None:
    scenario, out = medium_day, tmp_path / "plan.json"
    command = [sys.executable, "-m", "omnistock", "solve", str(scenario)]
    child = subprocess.Popen(
        [*command, "--solver", "optimal", "--time-limit", "120", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    seen = b""
    while b"optimal" not in seen:  # the progress bar: optimal is solving
        chunk = child.stderr.read1(256)
        assert chunk, seen.decode(errors="replace")
        seen += chunk
    time.sleep(pause)
    child.send_signal(signal.SIGINT)
    _, rest = child.communicate(timeout=300)
    err = (seen + rest).decode(errors="replace")
    assert child.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "omnistock: interrupted" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file either


def test_out_through_a_link_to_the_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_solve: list[str]
) -> None:
    scenario = tmp_path / "day.json"
    scenario.write_bytes((GOLDEN / "scenario_01.json").read_bytes())
    (tmp_path / "link.json").hardlink_to(scenario)
    err = _bad(["solve", str(scenario), "--out", str(tmp_path / "link.json")], capsys)
    assert "would overwrite the input" in err
    assert no_solve == []


@pytest.mark.parametrize("orders", ["-1", str(10**13), "many"])
def test_sample_order_count_out_of_range_is_one_line(
    orders: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: 10**13 orders died in numpy with a 72.8 TiB MemoryError traceback.
    out = tmp_path / "x.json"
    err = _bad(["sample", "small", "--orders", orders, "--out", str(out)], capsys)
    assert "--orders" in err and repr(orders) in err
    assert not out.exists()
