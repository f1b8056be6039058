"""The local copy of a PostgreSQL pool: the counters a Sourcer decides on.

:class:`LocalCopy` is a mixin of :class:`~omnistock.pool.pgpool.PostgresPool`
(it keeps that module within its size). The copy is written by the rows every
operation of this process touched (newer versions only: each row and node
carries a version the database raises on every change, so replies arriving
out of order never go back in time) and by :meth:`LocalCopy.refresh` /
:meth:`LocalCopy.follow` for the other replicas' changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from omnistock.exceptions import StoreError
from omnistock.pool.pgstore import Change, PostgresStore
from omnistock.pool.protecting import apply_protection
from omnistock.pool.state import PoolState

__all__ = ["LocalCopy"]


class LocalCopy:
    """The local copy of the database's counters (mixed into PostgresPool)."""

    store: PostgresStore
    lock: threading.RLock
    capacity_left: np.ndarray
    _state: PoolState
    #: Version of each stock row ("s", id) and node ("n", idx) in the local copy.
    _versions: dict[tuple[str, int], int]
    _stop: threading.Event | None
    #: The version of the protection table the local copy holds (-1: none yet).
    _table_version: int

    def refresh(self) -> None:
        """Read every counter from the database into the local copy (newer only).

        A protection table replaced by another replica is read again too.
        """
        changes = self.store.rows()
        version = next((int(ch[1]) for ch in changes if ch[0] == "v"), None)
        if version is not None and version != self._table_version:
            table = self.store.table()
            with self.lock:
                apply_protection(self._state, table)
                self._table_version = version
        self._apply(changes)

    def follow(self, interval: float = 0.5) -> None:
        """Refresh the local copy every ``interval`` seconds in a thread, until close().

        What a Sourcer decides on is then at most ``interval`` seconds (plus
        one read) behind the other replicas; a decision on a stale copy is
        re-checked by the database anyway, and sourced again on refusal.
        """
        if self._stop is not None:
            return
        stop = self._stop = threading.Event()

        def run() -> None:
            while not stop.wait(interval):
                try:
                    self.refresh()
                except StoreError:  # the database is away: try again next time
                    continue

        threading.Thread(target=run, name="omnistock-pg-follow", daemon=True).start()

    def _apply(self, changes: Iterable[Change]) -> None:
        """Write the changed rows and nodes into the local copy, newer versions only."""
        with self.lock:
            state, seen = self._state, self._versions
            fresh = []
            for ch in changes:
                if ch[0] not in ("s", "n") or seen.get((ch[0], ch[1]), -1) >= ch[2]:
                    continue
                seen[ch[0], ch[1]] = ch[2]
                fresh.append(ch)
                if ch[0] == "s" and state.row(ch[9], ch[10]) < 0:
                    state.add_row(ch[9], ch[10])  # another replica added it
            rows = []
            for ch in fresh:
                if ch[0] == "n":
                    self.capacity_left[ch[1]] = ch[3]
                    continue
                row = state.row(ch[9], ch[10])  # after every row was added
                self._write(row, ch[3:9], ch[13])
                rows.append(row)
            if rows:
                state.refresh(rows)

    def _write(self, row: int, counts: Sequence[int], held: int) -> None:
        """Set a row's counters: on_hand, reserved, shipped, received, returned, unsellable."""
        st = self._state
        st.on_hand[row], st.reserved[row], st.shipped[row] = counts[:3]
        st.received[row], st.returned[row], st.unsellable[row] = counts[3:]
        st.held[row] = held

    def _apply_one(self, node: str, sku: str, one: tuple[Any, ...]) -> tuple[int, ...]:
        """Write an ``os_one`` answer into the local copy; the row's index, as a tuple."""
        with self.lock:
            state, seen = self._state, self._versions
            row = state.row(node, sku)
            if row < 0:  # another replica added it: the general path adds it
                self._apply([("s", *one[3:11], node, sku, None, None, one[11])])
                row = state.row(node, sku)
            elif seen.get(("s", one[3]), -1) < one[4]:
                seen["s", one[3]] = one[4]
                self._write(row, one[5:11], one[11])
                state.refresh(slice(row, row + 1))
            if one[12] is not None and seen.get(("n", one[12]), -1) < one[13]:
                seen["n", one[12]] = one[13]
                self.capacity_left[one[12]] = one[14]
            return (row,)
