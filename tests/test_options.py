"""Options are checked in one place (solving.validate_options), the same way everywhere.

solve, replan, simulate (policy_options, replan_options), hindsight and the command
line all raise InvalidOptionError for an option the solver does not take and
InvalidOptionValue for a value it cannot use, naming solver, option and value.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from omnistock import (
    InvalidOptionError,
    InvalidOptionValue,
    OmnistockError,
    replan,
    samples,
    simulate,
    solve,
)
from omnistock.cli import main
from omnistock.simulation import hindsight
from omnistock.solving import validate_options
from tests.helpers import make_scenario

NET = samples.network("small", seed=2)
ORDERS = samples.orders(NET, 6, seed=2)


def _solve(**options: Any) -> object:
    return solve(make_scenario(), solver="optimal", **options)


def _replan(**options: Any) -> object:
    scenario = make_scenario()
    return replan(scenario, solve(scenario), solver="optimal", **options)


def _simulate_policy(**options: Any) -> object:
    return simulate(NET, ORDERS, "lookahead", policy_options=options)


def _simulate_replan(**options: Any) -> object:
    return simulate(NET, ORDERS, "null", replan_every=12.0, replan_options=options)


def _hindsight(**options: Any) -> object:
    return hindsight(NET, ORDERS, solver="optimal", **options)


CALLERS: dict[str, tuple[Callable[..., object], str, str]] = {
    # caller -> (call, an option its solver takes, that solver's name)
    "solve": (_solve, "time_limit", "optimal"),
    "replan": (_replan, "time_limit", "optimal"),
    "simulate.policy_options": (_simulate_policy, "weight", "lookahead"),
    "simulate.replan_options": (_simulate_replan, "time_limit", "optimal"),
    "hindsight": (_hindsight, "time_limit", "optimal"),
}


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_unknown_option_names_solver_and_option(caller: str) -> None:
    call, _, solver = CALLERS[caller]
    with pytest.raises(
        InvalidOptionError,
        match=rf"solver '{solver}' takes .*Got unknown option 'speed'",
    ) as info:
        call(speed=3)
    assert (info.value.solver, info.value.option) == (solver, "speed")


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_bad_value_names_solver_option_and_value(caller: str) -> None:
    call, option, solver = CALLERS[caller]
    with pytest.raises(
        InvalidOptionValue,
        match=rf"solver '{solver}', option '{option}': .*Got {option}=-5\.",
    ) as info:
        call(**{option: -5})
    assert (info.value.solver, info.value.option) == (solver, option)
    assert isinstance(info.value, OmnistockError)


def test_validate_options_returns_the_solvers_options_model() -> None:
    opts = validate_options("optimal", {"time_limit": 3, "gap": 0.01})
    assert (opts.time_limit, opts.gap) == (3.0, 0.01)  # type: ignore[attr-defined]


def test_wrong_type_names_the_value() -> None:
    with pytest.raises(
        InvalidOptionValue, match=r"option 'backend': .*Got backend='gurobi'\."
    ):
        validate_options("optimal", {"backend": "gurobi"})


def test_cli_bad_option_value_is_one_paragraph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "day.json"
    make_scenario().to_json(path)
    # A value the flag's own parser refuses is named by the flag ...
    assert main(["solve", str(path), "--solver", "optimal", "--time-limit", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--time-limit" in err and "Got '-1'" in err
    assert "Traceback" not in err and err.count("\n") == 1
    # ... an option the solver does not take by the one option checker.
    assert main(["solve", str(path), "--solver", "greedy", "--time-limit", "5"]) == 2
    err = capsys.readouterr().err
    assert "solver 'greedy'" in err and "'time_limit'" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_cli_option_a_solver_does_not_take(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "day.json"
    make_scenario().to_json(path)
    assert main(["solve", str(path), "--solver", "greedy", "--time-limit", "5"]) == 2
    assert "Got unknown option 'time_limit'" in capsys.readouterr().err
