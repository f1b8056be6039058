"""Protection levels from demand forecasts: Littlewood's rule and EMSR-b (issue 16, part 1).

How many units of a stock row to keep for a more valuable customer tier, given the
forecast of that tier's demand, is the airlines' seat-protection problem:

- :func:`littlewood` (two classes; Littlewood 1972): protect ``y`` units for the
  high class, the largest ``y`` with ``P(D_high >= y) > value_low / value_high``:
  a unit is kept back exactly when the chance the high class still asks for it,
  times its value, beats selling it now to the low class.
- :func:`emsr_b` (nested classes; Belobaba 1989/1992): classes 1..j are pooled into
  one with the summed mean, the root of the summed variances and the
  demand-weighted mean value, and Littlewood's rule against class j+1 gives the
  nested level ``y_j = mean + std * Phi^-1(1 - value_(j+1) / pooled value)``.
- :func:`levels`: a forecast frame (node, sku, tier, mean, std) to a table of
  ``units`` per (node, sku, tier): the tier of value rank k keeps ``y_(k-1)``.

These compute the table; the scenario's ``protection`` (contract v1.2, docs/protection.md)
is what solvers obey: ``Scenario.with_protection(levels(...))``, ``pool.set_protection``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from omnistock.exceptions import InvalidArgument

__all__ = ["emsr_b", "levels", "littlewood"]


def _check(function: str, argument: str, value: float, low: float = 0.0) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= low):
        detail = (
            f"{argument} must be a finite number >= {low:g}. Got {argument}={value!r}."
        )
        raise InvalidArgument(function=function, argument=argument, detail=detail)


def _sf(y: int, mean: float, std: float | None) -> float:
    """P(D >= y): Poisson(mean) when ``std`` is None, Normal(mean, std) otherwise."""
    if y <= 0:
        return 1.0
    if std is None:
        from scipy.stats import poisson

        return float(poisson.sf(y - 1, mean))
    if std == 0.0:
        return 1.0 if mean >= y else 0.0
    from statistics import NormalDist

    return 1.0 - NormalDist(mean, std).cdf(y)


def littlewood(
    value_high: float, value_low: float, mean_high: float, std_high: float | None = None
) -> int:
    """Units to protect for the high class: the largest ``y`` with ``P(D >= y) > ratio``.

    ``ratio = value_low / value_high``. Demand is Poisson(``mean_high``) when
    ``std_high`` is None, Normal(``mean_high``, ``std_high``) otherwise (a zero std
    is demand of exactly the mean). Zero when ``value_low >= value_high`` or no
    unit passes (the last unit is protected iff ``P(D >= 1) > ratio``).
    """
    for argument, value in (
        ("value_high", value_high),
        ("value_low", value_low),
        ("mean_high", mean_high),
    ):
        _check("littlewood", argument, value)
    if std_high is not None:
        _check("littlewood", "std_high", std_high)
    if value_high <= 0.0 or value_low >= value_high:
        return 0
    ratio = value_low / value_high
    # P(D >= y) falls with y: find the last y where it still beats the ratio.
    y = 0
    step = max(1, int(mean_high) + 1)
    while _sf(y + step, mean_high, std_high) > ratio:
        y += step
    while _sf(y + 1, mean_high, std_high) > ratio:
        y += 1
    return y


def emsr_b(
    values: Sequence[float], means: Sequence[float], stds: Sequence[float]
) -> list[int]:
    """EMSR-b nested protection levels, one per class, highest value first.

    Returns ``[y_0, ..., y_(J-1)]``: ``y_0 = 0`` (the top class keeps nothing from
    itself) and ``y_j`` the units classes 1..j keep from class j+1, from the normal
    approximation, rounded to the nearest unit and made non-decreasing. Classes
    1..j with no demand (zero pooled mean) or a pooled value no higher than class
    j+1's protect 0; a zero pooled std protects exactly the pooled mean.
    """
    n = len(values)
    if not (len(means) == n == len(stds)):
        detail = f"values, means and stds need one entry per class. Got {len(values)}, {len(means)}, {len(stds)}."
        raise InvalidArgument(function="emsr_b", argument="values", detail=detail)
    for name, seq in (("values", values), ("means", means), ("stds", stds)):
        for v in seq:
            _check("emsr_b", name, v)
    if any(values[i] < values[i + 1] for i in range(n - 1)):
        detail = f"values must be given highest first. Got {list(values)}."
        raise InvalidArgument(function="emsr_b", argument="values", detail=detail)
    from statistics import NormalDist

    levels_ = [0] * n
    for j in range(1, n):
        mean = sum(means[:j])
        std = math.sqrt(sum(s * s for s in stds[:j]))
        if mean <= 0.0:
            continue
        pooled = sum(v * m for v, m in zip(values[:j], means[:j], strict=True)) / mean
        ratio = values[j] / pooled if pooled > 0 else 1.0
        # Classes 1..j worth no more than j+1 (values are sorted: the top one is
        # their most) keep nothing; said exactly, as the weighted mean of equal
        # values may round a hair below them.
        if ratio >= 1.0 or values[0] <= values[j]:
            y = 0.0
        elif std == 0.0 or ratio <= 0.0:
            y = mean if std == 0.0 else math.inf
        else:
            y = mean + std * NormalDist().inv_cdf(1.0 - ratio)
        levels_[j] = max(0, round(y)) if math.isfinite(y) else round(mean + 8.0 * std)
    for j in range(1, n):  # nested: the classes above j+1 keep at least what 1..j keep
        levels_[j] = max(levels_[j], levels_[j - 1])
    return levels_


def levels(forecast: Any, values: Mapping[str, float], method: str = "emsr_b") -> Any:
    """Protection ``units`` per (node, sku, tier) from a demand forecast.

    Parameters
    ----------
    forecast
        A table (polars, pandas or pyarrow) with ``node, sku, tier, mean, std``:
        each tier's demand at the node-SKU over the protection horizon.
    values
        The value of a unit sold to each tier (e.g. its tier weight x the
        unfilled cost); every tier of the forecast needs one.
    method
        ``"emsr_b"`` (any number of tiers) or ``"littlewood"`` (at most two tiers
        per node-SKU; normal demand).

    Returns
    -------
    polars.DataFrame
        ``node, sku, tier, units``: the tier of value rank k (1 = highest) at a
        node-SKU keeps ``y_(k-1)`` of :func:`emsr_b` from the tiers below it.
    """
    import polars as pl

    from omnistock.model.io import as_polars

    if method not in ("emsr_b", "littlewood"):
        detail = f"method must be 'emsr_b' or 'littlewood'. Got {method!r}."
        raise InvalidArgument(function="levels", argument="method", detail=detail)
    frame = as_polars("forecast", forecast)
    missing = [
        c for c in ("node", "sku", "tier", "mean", "std") if c not in frame.columns
    ]
    if missing:
        detail = f"the forecast needs columns {missing}. Got {frame.columns}."
        raise InvalidArgument(function="levels", argument="forecast", detail=detail)
    unknown = sorted(set(frame["tier"].to_list()) - set(values))
    if unknown:
        detail = f"no value for tier(s) {unknown}. Got values for {sorted(values)}."
        raise InvalidArgument(function="levels", argument="values", detail=detail)
    rows: list[dict[str, Any]] = []
    for (node, sku), group in frame.group_by("node", "sku", maintain_order=True):
        ranked = sorted(
            group.iter_rows(named=True), key=lambda r: (-values[r["tier"]], r["tier"])
        )
        vals = [float(values[r["tier"]]) for r in ranked]
        means = [float(r["mean"]) for r in ranked]
        stds = [float(r["std"]) for r in ranked]
        if method == "littlewood":
            if len(ranked) > 2:
                detail = f"littlewood takes two tiers; node {node!r}, sku {sku!r} has {len(ranked)}."
                raise InvalidArgument(
                    function="levels", argument="method", detail=detail
                )
            protect = [0] * len(ranked)
            if len(ranked) == 2:
                protect[1] = littlewood(vals[0], vals[1], means[0], stds[0])
        else:
            protect = emsr_b(vals, means, stds)
        rows.extend(
            {"node": node, "sku": sku, "tier": r["tier"], "units": u}
            for r, u in zip(ranked, protect, strict=True)
        )
    schema = {"node": pl.String, "sku": pl.String, "tier": pl.String, "units": pl.Int64}
    return pl.DataFrame(rows, schema=schema)
