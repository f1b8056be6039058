"""A reservation: units held for one order, and the lines it is made of."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any, NamedTuple

import polars as pl

from omnistock.exceptions import InvalidRequest

__all__ = [
    "ACTIVE",
    "COMMITTED",
    "EXPIRED",
    "RELEASED",
    "STATUS_NAMES",
    "Line",
    "Reservation",
    "normalise_lines",
]

#: One reservation line: (node_id, sku, qty).
Line = tuple[str, str, int]

ACTIVE, COMMITTED, RELEASED, EXPIRED = 1, 2, 3, 4
STATUS_NAMES = {
    ACTIVE: "active",
    COMMITTED: "committed",
    RELEASED: "released",
    EXPIRED: "expired",
}


class Reservation(NamedTuple):
    """Units held for one order until they ship (commit) or go back (release, expire).

    An immutable named tuple: a value, and three times cheaper to make than a
    frozen dataclass on the reserve path.

    Attributes
    ----------
    reservation_id
        Issued by the pool, counting up from 1.
    order_id
        The order the units are held for.
    lines
        ``(node_id, sku, qty)`` per line, as requested.
    key
        The idempotency key, if one was given.
    deadline
        Pool clock time after which :meth:`StockPool.expire` releases it; None: never.
    exempt
        Whether it was allowed to take protected units.
    rows
        The compiled stock row of each line.
    """

    reservation_id: int
    order_id: str
    lines: tuple[Line, ...]
    key: str | None = None
    deadline: float | None = None
    exempt: bool = True
    rows: tuple[int, ...] = ()

    @property
    def units(self) -> int:
        """Total units held."""
        return sum(line[2] for line in self.lines)


def normalise_lines(lines: Iterable[Any] | pl.DataFrame) -> tuple[Line, ...]:
    """Lines as a tuple of ``(node_id, sku, qty)`` with positive integer qty."""
    if isinstance(lines, pl.DataFrame):
        missing = {"node_id", "sku", "qty"} - set(lines.columns)
        if missing:
            msg = f"lines frame needs columns node_id, sku, qty. Missing {sorted(missing)}."
            raise InvalidRequest(msg)
        lines = lines.select("node_id", "sku", "qty").iter_rows()
    out: list[Line] = []
    for i, line in enumerate(lines):
        try:
            node_id, sku, qty = line
            qty = operator.index(qty)
        except (TypeError, ValueError) as err:
            msg = f"lines[{i}]: expected (node_id, sku, qty) with an integer qty. Got {line!r}."
            raise InvalidRequest(msg) from err
        if qty <= 0:
            msg = f"lines[{i}] (node {node_id!r}, sku {sku!r}): qty must be > 0. Got qty={qty}."
            raise InvalidRequest(msg)
        out.append((str(node_id), str(sku), int(qty)))
    if not out:
        msg = "lines: a reservation needs at least one line. Got none."
        raise InvalidRequest(msg)
    return tuple(out)
