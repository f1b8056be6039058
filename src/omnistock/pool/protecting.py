"""Contract v1.2 on a live pool: ``set_protection``, journaled and recovered (issue 16).

The pool reads protection live, like v1's last unit (docs/decisions.md): a
reservation of tier ``t`` may take ``max(0, free_left - u_t(r))`` units of row
``r``, recomputed after every change (``PoolState.refresh``); the counters are
the nested heads of ``compiled/nesting.py`` (one column per tier class), so the
Sourcer's kernels read a pool's heads as they read a batch's.
:meth:`Protecting.set_protection` swaps the table: checked first (nodes known,
keys unique, units in range), journaled as ``["protection", [[node, sku, tier,
units], ...]]``, then applied; recovery replays the record with
:func:`apply_protection`, and a snapshot carries the table in its network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from omnistock.compiled.nesting import initial_head
from omnistock.compiled.state import StockState
from omnistock.exceptions import InvalidRequest
from omnistock.model.protect import ProtectionEntry, check_protection
from omnistock.model.scenario import Scenario
from omnistock.pool.state import PoolState

__all__ = ["Protecting", "apply_protection", "check_table", "with_table"]

Table = tuple[tuple[str, str, str, int], ...]


def check_table(state: PoolState, entries: Any) -> Table:
    """The table as tuples; InvalidRequest naming the first bad entry."""
    from omnistock.model.io import protection_from_frame

    try:
        rows = [
            ProtectionEntry.model_validate(e) for e in protection_from_frame(entries)
        ]
        check_protection(rows, set(state.network.node_index))
    except (ValidationError, ValueError) as err:
        first = err.errors()[0]["msg"] if isinstance(err, ValidationError) else str(err)
        msg = f"set_protection: {str(first).removeprefix('Value error, ')}"
        raise InvalidRequest(msg) from err
    return tuple((e.node, e.sku, e.tier, e.units) for e in rows)


def apply_protection(state: PoolState, table: Table) -> None:
    """Take ``table`` (checked): new tier classes and heads; Sourcers re-point."""
    state.network = replace(state.network, protection=table)
    free = state.stock.free
    state.stock = StockState(
        free,
        state.stock.limit,
        state.stock.capacity,
        initial_head(free, state.network.stock_level),
    )
    state.index_rows()
    for callback in state.on_grow:
        callback()


def with_table(base: Scenario, state: PoolState) -> Scenario:
    """``base`` carrying the state's protection table (what a snapshot stores)."""
    table = state.network.protection
    if tuple((e.node, e.sku, e.tier, e.units) for e in base.protection) == table:
        return base
    entries = tuple(
        ProtectionEntry(node=n, sku=s, tier=t, units=u) for n, s, t, u in table
    )
    return base.model_copy(update={"protection": entries})


class Protecting:
    """``set_protection`` of a pool (mixed into StockPool)."""

    _state: PoolState
    lock: threading.RLock
    _log: Callable[[list[Any]], None]  # StockPool's: journal, then count

    def set_protection(self, frame: Any) -> None:
        """Replace the pool's protection table (contract v1.2, S4 v1.2), live.

        ``frame``: a table ``node, sku, tier, units`` (e.g.
        :func:`omnistock.protection.levels`) or its entries. From the next
        request on, a reservation of a tier may take ``max(0, free - u)`` of a
        row; reservations already held keep their units. Checked, journaled,
        then applied; an empty table returns the pool to v1's rule.

        Raises
        ------
        InvalidRequest
            An entry of an unknown node, a repeated (node, sku, tier), or units
            out of range; nothing changes.
        """
        with self.lock:
            table = check_table(self._state, frame)
            self._log(["protection", [list(e) for e in table]])
            apply_protection(self._state, table)
