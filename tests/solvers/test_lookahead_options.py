"""lookahead refuses non-finite prices and weights (issue 12, item 15).

Before: a NaN ``row_cost`` or ``weight=inf`` priced every unit at inf or NaN,
and every order was silently left unfilled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from omnistock import solve
from omnistock.exceptions import InvalidOptionValue
from tests.helpers import make_scenario


def _n_rows() -> int:
    return make_scenario().compiled().network.stock_node.shape[0]


def _prices(bad: float, at: int = 1) -> np.ndarray:
    prices = np.zeros(_n_rows())
    prices[at] = bad
    return prices


@pytest.mark.parametrize(
    ("option", "options", "message"),
    [
        ("weight", {"weight": float("inf")}, r"option 'weight'.*weight=inf"),
        ("row_cost", {"row_cost": _prices(np.nan)}, r"row_cost\[1\]=nan"),
        (
            "exempt_row_cost",
            {"row_cost": _prices(0.0), "exempt_row_cost": _prices(np.inf)},
            r"exempt_row_cost\[1\]=inf",
        ),
    ],
    ids=["weight_inf", "row_cost_nan", "exempt_row_cost_inf"],
)
def test_non_finite_option_is_refused_naming_solver_option_value(
    option: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidOptionValue, match=message) as info:
        solve(make_scenario(), solver="lookahead", **options)
    assert (info.value.solver, info.value.option) == ("lookahead", option)
    assert str(info.value).startswith(f"solver 'lookahead', option {option!r}: ")


def test_finite_options_still_plan() -> None:
    scenario = make_scenario()
    plan = solve(scenario, solver="lookahead", weight=2.0, row_cost=np.ones(_n_rows()))
    plan.check(scenario)
    assert plan.allocations.height > 0
