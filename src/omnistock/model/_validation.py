"""Shared checks for the pydantic boundary models: one message template for all.

Messages follow one template: where (the record and its id), what rule, and what
was given, e.g. ``stock (node 'S-041', sku 'A-7'): reserved must be <= on_hand.
Got reserved=5, on_hand=3.``

The numeric ranges of the contract (docs/scenario.md, "Numeric ranges") are
defined here once: :data:`MAX_QTY` for every count of units, :data:`MAX_COST`
for every cost coefficient and :data:`MAX_TIER_WEIGHT` for tier weights.
Numbers are strict: a string or a boolean is never read as a number, an integer
field takes no fraction (2.0 is 2, 2.5 is refused), and every number is finite. These checks run before
pydantic's (which are lax: they would read ``"12"`` as 12), so numpy scalars
still count as the numbers they are.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import Field

__all__ = [
    "COST",
    "COUNT",
    "MAX_COST",
    "MAX_QTY",
    "MAX_TIER_WEIGHT",
    "Cost",
    "Count",
    "Num",
    "check_booleans",
    "check_mapping",
    "check_number",
    "check_numbers",
    "describe",
    "require_choice",
]

#: The largest quantity the contract accepts (on_hand, reserved, safety_stock,
#: qty, capacity, protection, max_splits, |priority|). Sums of many such values
#: stay far inside int64, so every solver's arithmetic is exact below it.
MAX_QTY: Final[int] = 2**40

#: The largest cost coefficient (package, per_km, unfilled, handling_cost,
#: unit_cost), in currency units (docs/decisions.md, "Numeric ranges").
MAX_COST: Final[float] = 1e6

#: The largest tier weight on the unfilled cost.
MAX_TIER_WEIGHT: Final[float] = 1e3


@dataclass(frozen=True)
class Num:
    """The accepted range of one numeric field.

    ``below`` is the rule stated when the value is under ``low`` (default
    ``>= low``); ``interval`` states the rule as ``in [low, high]`` instead.
    """

    integer: bool
    low: float
    high: float
    below: str = ""
    interval: bool = False

    def rule(self, too_low: bool) -> str:
        """The rule broken, as the message states it."""
        if self.interval:
            return f"in [{_fmt(self.low)}, {_fmt(self.high)}]"
        if too_low:
            return self.below or f">= {_fmt(self.low)}"
        if self.high == MAX_QTY:
            return f"<= {MAX_QTY} (2**40, the quantity maximum)"
        return f"<= {_fmt(self.high)}"


def _fmt(x: float) -> str:
    if isinstance(x, int) or (float(x).is_integer() and abs(x) < 1e6):
        return str(int(x))
    return f"{x:g}"


#: A count of units: an integer in [0, MAX_QTY].
COUNT: Final = Num(integer=True, low=0, high=MAX_QTY)
#: A cost coefficient: a finite number in [0, MAX_COST].
COST: Final = Num(integer=False, low=0.0, high=MAX_COST)

#: Field types that hold the same ranges (and show them in the JSON Schema).
Count = Annotated[int, Field(ge=0, le=MAX_QTY)]
Cost = Annotated[float, Field(ge=0.0, le=MAX_COST, allow_inf_nan=False)]


def check_number(value: Any, name: str, num: Num, where: str) -> None:
    """Raise ``ValueError`` naming ``where`` and ``name`` if ``value`` breaks ``num``.

    ``None`` passes (optional fields); their types are pydantic's to check.
    """
    if value is None:
        return
    kind = "an integer" if num.integer else "a number"
    # numpy scalars count; a whole float (2.0, as a float column of a frame
    # holds it) reads as the integer it is, as it always has.
    whole = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and float(value).is_integer()
    )
    if (
        _is_bool(value)
        or not isinstance(value, numbers.Real)
        or (num.integer and not whole)
    ):
        msg = f"{where}: {name} must be {kind}. Got {name}={value!r}."
        raise ValueError(msg)
    # Integers compare exactly at any size (float(10**400) would overflow).
    number = int(value) if isinstance(value, numbers.Integral) else float(value)
    if isinstance(number, float) and not math.isfinite(number) and not num.interval:
        msg = f"{where}: {name} must be a finite number. Got {name}={value!r}."
        raise ValueError(msg)
    too_low = not number >= num.low  # NaN is neither low nor high: too low
    if too_low or number > num.high:
        msg = f"{where}: {name} must be {num.rule(too_low)}. Got {name}={value!r}."
        raise ValueError(msg)


def _is_bool(value: Any) -> bool:
    """Whether ``value`` is a boolean, Python's or numpy's (``np.bool_``)."""
    return (
        isinstance(value, bool)
        or getattr(getattr(value, "dtype", None), "kind", "") == "b"
    )


def check_numbers(data: Any, fields: Mapping[str, Num], where: str) -> None:
    """Check each present field of a raw record against its range (:func:`check_number`).

    Runs before field validation, so the message can name the record's id, which
    pydantic's own messages cannot.
    """
    if not isinstance(data, dict):
        return
    for field, num in fields.items():
        check_number(data.get(field), field, num, where)


def check_booleans(data: Any, fields: Iterable[str], where: str) -> None:
    """Raise ``ValueError`` naming ``where`` if a present field is not ``true``/``false``."""
    if not isinstance(data, dict):
        return
    for field in fields:
        value = data.get(field)
        if value is not None and not _is_bool(value):
            msg = f"{where}: {field} must be true or false. Got {field}={value!r}."
            raise ValueError(msg)


def check_mapping(data: Any, field: str, num: Num, where: str) -> None:
    """Check every value of the mapping ``data[field]`` (e.g. tier weights)."""
    if not isinstance(data, dict) or not isinstance(data.get(field), dict):
        return
    for key, value in data[field].items():
        check_number(value, f"{field}[{key!r}]", num, where)


def describe(data: Any, *keys: str) -> str:
    """Render ``key 'value'`` pairs of a raw record for an error message."""
    if not isinstance(data, dict):
        return ""
    parts = [f"{key} {data[key]!r}" for key in keys if key in data]
    return ", ".join(parts)


def require_choice(data: Any, field: str, choices: Iterable[str], where: str) -> None:
    """Raise ``ValueError`` naming ``where`` if ``data[field]`` holds a bad choice.

    ``data[field]`` may be a string or a list of strings.
    """
    if not isinstance(data, dict) or field not in data:
        return
    value = data[field]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple):
        return
    for item in values:
        if isinstance(item, str) and item not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            msg = f"{where}: {field} must be one of {allowed}. Got {item!r}."
            raise ValueError(msg)
