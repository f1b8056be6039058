"""Shared checks for the pydantic boundary models: one message template for all.

Messages follow one template: where (the record and its id), what rule, and what
was given, e.g. ``stock (node 'S-041', sku 'A-7'): reserved must be <= on_hand.
Got reserved=5, on_hand=3.``
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def require_non_negative(data: Any, fields: Iterable[str], where: str) -> None:
    """Raise ``ValueError`` naming ``where`` if a numeric field in ``data`` is < 0.

    Runs before field validation, so the message can name the record's id, which
    pydantic's own ``ge=0`` message cannot.
    """
    if not isinstance(data, dict):
        return
    for field in fields:
        value = data.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            msg = f"{where}: {field} must be >= 0. Got {field}={value!r}."
            raise ValueError(msg)


def describe(data: Any, *keys: str) -> str:
    """Render ``key 'value'`` pairs of a raw record for an error message."""
    if not isinstance(data, dict):
        return ""
    parts = [f"{key} {data[key]!r}" for key in keys if key in data]
    return ", ".join(parts)


def require_in_range(
    data: Any, field: str, low: float, high: float, where: str
) -> None:
    """Raise ``ValueError`` naming ``where`` if ``data[field]`` is a number outside [low, high]."""
    if not isinstance(data, dict):
        return
    value = data.get(field)
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not low <= value <= high
    ):
        msg = f"{where}: {field} must be in [{low}, {high}]. Got {field}={value!r}."
        raise ValueError(msg)


def require_choice(data: Any, field: str, choices: tuple[str, ...], where: str) -> None:
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


#: The largest quantity the library takes (stock, order lines, capacity, a pool
#: reservation line or adjustment): far above any real stock, and small enough
#: that sums of many of them stay exact in int64 and float64.
MAX_QTY = 2**40
