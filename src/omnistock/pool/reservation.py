"""A reservation: units held for one order, and the lines it is made of."""

from __future__ import annotations

import math
import operator
from collections.abc import Collection, Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from omnistock.exceptions import InvalidRequest
from omnistock.model._validation import MAX_QTY

__all__ = [
    "ACTIVE",
    "AMENDED",
    "COMMITTED",
    "EXPIRED",
    "RELEASED",
    "MAX_QTY",
    "STATUS_NAMES",
    "Line",
    "Reservation",
    "check_capacity",
    "check_delta",
    "check_exempt",
    "check_request",
    "check_text",
    "check_time",
    "check_ttl",
    "normalise_lines",
]

#: One reservation line: (node_id, sku, qty).
Line = tuple[str, str, int]

ACTIVE, COMMITTED, RELEASED, EXPIRED, AMENDED = 1, 2, 3, 4, 5
STATUS_NAMES = {
    ACTIVE: "active",
    COMMITTED: "committed",
    RELEASED: "released",
    EXPIRED: "expired",
    AMENDED: "amended",
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
    amends
        The id of the reservation this one replaced (:meth:`StockPool.amend`),
        or None.
    tier
        The order's tier when the request named it (contract v1.2), else None.
    locker
        The locker the order is picked up at (``reserve(locker=...)``), or None.
    parcels
        The shipping nodes whose parcel at ``locker`` it holds (one a package,
        S11; docs/pool.md, "Lockers").
    """

    reservation_id: int
    order_id: str
    lines: tuple[Line, ...]
    key: str | None = None
    deadline: float | None = None
    exempt: bool = True
    rows: tuple[int, ...] = ()
    amends: int | None = None
    tier: str | None = None
    locker: str | None = None
    parcels: tuple[str, ...] = ()

    @property
    def units(self) -> int:
        """Total units held."""
        return sum(line[2] for line in self.lines)


def normalise_lines(lines: Iterable[Any] | pl.DataFrame) -> tuple[Line, ...]:
    """Lines as a tuple of ``(node_id, sku, qty)`` with integer qty in [1, MAX_QTY]."""
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
            if isinstance(qty, bool | np.bool_):
                raise TypeError
            qty = operator.index(qty)
        except (TypeError, ValueError) as err:
            msg = f"lines[{i}]: expected (node_id, sku, qty) with an integer qty. Got {line!r}."
            raise InvalidRequest(msg) from err
        if not 0 < qty <= MAX_QTY:
            rule = "> 0" if qty <= 0 else "<= 2**40"
            msg = f"lines[{i}] (node {node_id!r}, sku {sku!r}): qty must be {rule}. Got qty={qty}."
            raise InvalidRequest(msg)
        # node_id and sku need no text check: only known rows are ever journaled.
        out.append((str(node_id), str(sku), int(qty)))
    if not out:
        msg = "lines: a reservation needs at least one line. Got none."
        raise InvalidRequest(msg)
    return tuple(out)


def check_text(value: object, name: str) -> str:
    """``value`` as text that a journal and a snapshot can store (valid UTF-8).

    Non-text values are converted with ``str`` (an int order id becomes "17");
    a lone surrogate (such as U+D800 alone) is refused.
    """
    text = value if type(value) is str else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        msg = f"{name} must be valid Unicode text (no lone surrogates). Got {text!r}."
        raise InvalidRequest(msg) from err
    return text


def _number(value: object, name: str) -> float:
    """A finite real number (int or float, not bool), else InvalidRequest naming it."""
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        msg = f"{name} must be a number. Got {value!r}."
        raise InvalidRequest(msg)
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        msg = f"{name} must be a finite number. Got {value!r}."
        raise InvalidRequest(msg)
    return out


#: The longest ttl, in seconds (100 years): longer is a mistake, not a policy.
MAX_TTL = 100 * 365.25 * 86400.0


def check_ttl(ttl: object, where: str) -> float | None:
    """``ttl`` in seconds, in (0, MAX_TTL], or None (never expires)."""
    if ttl is None:
        return None
    out = _number(ttl, f"{where}: ttl")
    if not 0 < out <= MAX_TTL:
        msg = f"{where}: ttl must be > 0 and <= {MAX_TTL:.0f} seconds, or None. Got ttl={ttl!r}."
        raise InvalidRequest(msg)
    return out


def check_time(value: object, name: str) -> float:
    """A finite time on the pool clock (seconds)."""
    return _number(value, name)


def check_exempt(exempt: object, where: str) -> bool:
    """``exempt`` as a bool; only True or False are taken (``"no"`` is refused)."""
    if not isinstance(exempt, bool | np.bool_):
        msg = f"{where}: exempt must be True or False. Got exempt={exempt!r}."
        raise InvalidRequest(msg)
    return bool(exempt)


def check_request(
    order_id: object, key: object, ttl: object, exempt: object
) -> tuple[str, str | None, float | None, bool]:
    """A reserve's ``order_id``, ``key``, ``ttl`` and ``exempt``, checked.

    One copy for both stores, on their hot path: ASCII text, no ttl and a real
    bool need no further checking, so they are tested first.
    """
    if type(order_id) is not str or not order_id.isascii():
        order_id = check_text(order_id, "order_id")
    if key is not None and (type(key) is not str or not key.isascii()):
        key = check_text(key, f"order {order_id!r}: key")
    if ttl is not None:
        ttl = check_ttl(ttl, f"order {order_id!r}")
    if exempt is not True and exempt is not False:
        exempt = check_exempt(exempt, f"order {order_id!r}")
    return order_id, key, ttl, exempt


def check_delta(delta: object, where: str) -> int:
    """An adjustment as an int in [-MAX_QTY, MAX_QTY] (bool refused)."""
    try:
        if isinstance(delta, bool | np.bool_):
            raise TypeError
        out = operator.index(delta)  # type: ignore[arg-type]
    except TypeError as err:
        msg = f"{where}: delta must be an integer. Got {delta!r}."
        raise InvalidRequest(msg) from err
    if not -MAX_QTY <= out <= MAX_QTY:
        msg = f"{where}: delta must be in [-2**40, 2**40]. Got delta={out}."
        raise InvalidRequest(msg)
    return int(out)


def check_capacity(capacity: object, nodes: Collection[str]) -> dict[str, int | None]:
    """A period's node capacity: ``{node_id: units in [0, 2**40] or None}``.

    None (no mapping) is ``{}``: every node starts from its scenario capacity.
    A None value is no limit.
    """
    if capacity is None:
        return {}
    if not isinstance(capacity, Mapping):
        msg = f"open_period: capacity must be a mapping node_id -> units. Got {capacity!r}."
        raise InvalidRequest(msg)
    out: dict[str, int | None] = {}
    for node_id, value in capacity.items():
        if node_id not in nodes:
            msg = f"open_period: capacity names node {node_id!r}, which is not a node."
            raise InvalidRequest(msg)
        if value is not None:
            if isinstance(value, bool | np.bool_) or not isinstance(
                value, int | np.integer
            ):
                msg = f"open_period: capacity of node {node_id!r} must be an integer or None. Got {value!r}."
                raise InvalidRequest(msg)
            if not 0 <= value <= MAX_QTY:
                msg = f"open_period: capacity of node {node_id!r} must be in [0, 2**40]. Got {value}."
                raise InvalidRequest(msg)
            value = int(value)
        out[str(node_id)] = value
    return dict(sorted(out.items()))
