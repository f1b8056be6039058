"""Protection levels from forecasts: Littlewood and EMSR-b against worked examples (issue 16)."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnistock import InvalidArgument
from omnistock.protection import emsr_b, levels, littlewood


def test_littlewood_poisson_worked_example() -> None:
    """Poisson mean 2, values 100 / 60: ratio 0.6.

    P(D >= 1) = 1 - e^-2 = 0.8647 > 0.6; P(D >= 2) = 1 - e^-2 (1 + 2) = 0.5940 < 0.6:
    protect 1 unit.
    """
    assert 1 - math.exp(-2) == pytest.approx(0.8647, abs=1e-4)
    assert 1 - math.exp(-2) * 3 == pytest.approx(0.5940, abs=1e-4)
    assert littlewood(100.0, 60.0, 2.0) == 1
    # ratio 0.5: P(D >= 2) = 0.594 > 0.5, P(D >= 3) = 1 - e^-2 (1 + 2 + 2) = 0.3233: 2 units.
    assert littlewood(100.0, 50.0, 2.0) == 2


def test_littlewood_normal_worked_example() -> None:
    """Normal(10, 3), ratio 0.4: P(D >= y) > 0.4 iff (y - 10) / 3 < Phi^-1(0.6) = 0.2533.

    y < 10.76: protect 10. At ratio 0.5 exactly, y = 10 gives P = 0.5, not > 0.5: 9.
    """
    assert littlewood(100.0, 40.0, 10.0, 3.0) == 10
    assert littlewood(100.0, 50.0, 10.0, 3.0) == 9


def test_littlewood_edge_cases() -> None:
    assert littlewood(50.0, 50.0, 10.0) == 0  # no reason to keep a unit back
    assert littlewood(50.0, 80.0, 10.0) == 0
    assert littlewood(100.0, 10.0, 0.0) == 0  # no high demand: nothing to keep
    assert littlewood(100.0, 10.0, 4.0, 0.0) == 4  # demand exactly 4
    with pytest.raises(
        InvalidArgument, match=r"mean_high must be a finite number >= 0"
    ):
        littlewood(100.0, 10.0, -1.0)


@settings(max_examples=60)
@given(
    mean=st.floats(0.0, 50.0),
    extra=st.floats(0.0, 20.0),
    low=st.floats(1.0, 99.0),
    lift=st.floats(1.0, 3.0),
)
def test_littlewood_grows_with_demand_and_with_the_value_ratio(
    mean: float, extra: float, low: float, lift: float
) -> None:
    assert littlewood(100.0, low, mean) <= littlewood(100.0, low, mean + extra)
    assert littlewood(100.0, low, mean) <= littlewood(100.0 * lift, low, mean)
    # The last unit is protected iff P(D >= 1) > ratio (the property).
    assert (littlewood(100.0, low, mean) >= 1) == (1 - math.exp(-mean) > low / 100.0)


def test_emsr_b_textbook_example() -> None:
    """Four classes (values 1050, 567, 534, 520; means 17.3, 45.1, 39.6, 34.0; stds 5.8,
    15.0, 13.9, 12.4):

    - j=1: mean 17.3, std 5.8, pooled value 1050, ratio 567/1050 = 0.5400,
      z = Phi^-1(0.46) = -0.1004, y1 = 17.3 - 0.58 = 16.72 -> 17.
    - j=2: mean 62.4, std sqrt(5.8^2 + 15^2) = 16.082, pooled (1050 x 17.3 + 567 x 45.1) / 62.4
      = 700.91, ratio 534/700.91 = 0.7619, z = -0.7123, y2 = 62.4 - 11.46 = 50.94 -> 51.
    - j=3: mean 102.0, std 21.257, pooled 636.11, ratio 520/636.11 = 0.8175, z = -0.9058,
      y3 = 102.0 - 19.25 = 82.75 -> 83.
    """
    assert emsr_b(
        [1050, 567, 534, 520], [17.3, 45.1, 39.6, 34.0], [5.8, 15.0, 13.9, 12.4]
    ) == [
        0,
        17,
        51,
        83,
    ]


def test_emsr_b_edge_cases() -> None:
    assert emsr_b([100.0], [5.0], [1.0]) == [0]
    assert emsr_b([100.0, 100.0], [5.0, 5.0], [1.0, 1.0]) == [0, 0]  # equal values
    # Equal values whose weighted mean rounds a hair below them still keep nothing.
    assert emsr_b([11.0, 11.0], [24.051940332514647, 5.0], [0.0, 2.0]) == [0, 0]
    assert emsr_b([100.0, 50.0], [0.0, 5.0], [0.0, 1.0]) == [0, 0]  # no high demand
    assert emsr_b([100.0, 50.0], [4.0, 5.0], [0.0, 1.0]) == [0, 4]  # exact demand
    # Made non-decreasing: a valuable but tiny second class cannot lower the level.
    assert emsr_b([100.0, 99.0, 10.0], [20.0, 0.0, 5.0], [2.0, 0.0, 1.0])[1:] == sorted(
        emsr_b([100.0, 99.0, 10.0], [20.0, 0.0, 5.0], [2.0, 0.0, 1.0])[1:]
    )
    with pytest.raises(InvalidArgument, match="highest first"):
        emsr_b([10.0, 100.0], [1.0, 1.0], [1.0, 1.0])
    with pytest.raises(InvalidArgument, match="one entry per class"):
        emsr_b([10.0], [1.0, 1.0], [1.0, 1.0])


def test_levels_gives_each_tier_its_rank_level() -> None:
    forecast = pl.DataFrame(
        {
            "node": ["S1"] * 3 + ["S2"],
            "sku": ["A"] * 3 + ["A"],
            "tier": ["vip", "gold", "standard", "vip"],
            "mean": [17.3, 45.1, 39.6, 3.0],
            "std": [5.8, 15.0, 13.9, 1.0],
        }
    )
    table = levels(forecast, {"vip": 1050.0, "gold": 567.0, "standard": 534.0})
    units = {(r["node"], r["tier"]): r["units"] for r in table.iter_rows(named=True)}
    assert units == {
        ("S1", "vip"): 0,
        ("S1", "gold"): 17,
        ("S1", "standard"): 51,
        ("S2", "vip"): 0,
    }
    with pytest.raises(InvalidArgument, match=r"no value for tier\(s\) \['vip'\]"):
        levels(forecast, {"gold": 1.0, "standard": 1.0})


@settings(max_examples=60)
@given(
    mean=st.floats(0.0, 60.0),
    extra=st.floats(0.0, 30.0),
    std=st.floats(0.0, 10.0),
    low=st.floats(1.0, 99.0),
    lift=st.floats(1.0, 4.0),
    rest=st.lists(st.tuples(st.floats(0.0, 40.0), st.floats(0.0, 8.0)), max_size=2),
)
def test_emsr_b_properties(
    mean: float,
    extra: float,
    std: float,
    low: float,
    lift: float,
    rest: list[tuple[float, float]],
) -> None:
    """EMSR-b's level for the top class grows with its mean and with value_high / value_low,
    is 0 when value_low >= value_high, and the nested levels never decrease."""

    def y1(v_high: float, m: float) -> int:
        values = [v_high, low, *(low * 0.5 ** (k + 1) for k in range(len(rest)))]
        means = [m, 5.0, *(r[0] for r in rest)]
        stds = [std, 2.0, *(r[1] for r in rest)]
        levels_ = emsr_b(values, means, stds)
        assert levels_ == sorted(levels_) and levels_[0] == 0
        return levels_[1]

    assert y1(100.0, mean) <= y1(100.0, mean + extra)
    assert y1(100.0, mean) <= y1(100.0 * lift, mean)
    assert emsr_b([low, low], [mean, 5.0], [std, 2.0]) == [0, 0]
