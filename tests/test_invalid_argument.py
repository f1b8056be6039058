"""A function argument out of its domain raises omnistock.InvalidArgument, naming both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import omnistock
from omnistock import InvalidArgument, OmnistockError, relax, replan, samples, solve
from tests.helpers import make_scenario


def _replan_negative_moves() -> Any:
    scenario = make_scenario()
    return replan(scenario, solve(scenario, solver="greedy"), max_moves=-1)


CASES: list[tuple[Callable[[], Any], str, str, str]] = [
    (lambda: relax(make_scenario(), engine="pdlp"), "relax", "engine", "'pdlp'"),
    (_replan_negative_moves, "replan", "max_moves", "max_moves=-1"),
    (lambda: samples.network("huge"), "samples.network", "name", "'huge'"),
    (
        lambda: samples.orders(samples.network("small"), -1),
        "samples.orders",
        "n",
        "n=-1",
    ),
    (
        lambda: samples.orders(make_scenario(stock=[]), 3),
        "samples.orders",
        "network",
        "no SKU",
    ),
    (
        lambda: samples.orders_frame(samples.network("small"), 3, days=0),
        "samples.orders_frame",
        "days",
        "days=0",
    ),
]


@pytest.mark.parametrize(
    ("call", "function", "argument", "given"),
    CASES,
    ids=[f"{c[1]}-{c[2]}" for c in CASES],
)
def test_bad_argument_names_function_argument_and_value(
    call: Callable[[], Any], function: str, argument: str, given: str
) -> None:
    """Tests the error's type (library base class, still a ValueError) and what it names."""
    with pytest.raises(InvalidArgument) as info:
        call()
    err = info.value
    assert isinstance(err, OmnistockError)
    assert isinstance(err, ValueError)
    assert (err.function, err.argument) == (function, argument)
    assert str(err).startswith(f"{function}: ")
    assert given in str(err)
    assert omnistock.InvalidArgument is InvalidArgument
