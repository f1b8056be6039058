"""The durable side of a :class:`~omnistock.StockPool`: sync, close and snapshots.

:class:`Durable` is a mixin the pool inherits: it works on the pool's state,
lock and journal, and keeps the operations module within its size.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Self

from omnistock.exceptions import InvalidRequest
from omnistock.model.scenario import Scenario
from omnistock.pool.journal import Journal, rolled_journal
from omnistock.pool.protecting import with_table
from omnistock.pool.recovery import copy_state, snapshot_of
from omnistock.pool.snapshot import write_snapshot
from omnistock.pool.state import PoolState

__all__ = ["Durable"]


class Durable:
    """Journal sync/close and snapshots of a pool (mixed into StockPool)."""

    _state: PoolState
    _base: Scenario
    _journal: Journal | None
    lock: threading.RLock

    @property
    def seq(self) -> int:
        """Sequence number of the last operation applied (journaled or not)."""
        return self._state.seq

    @property
    def journal_path(self) -> Path | None:
        """The journal file the pool writes (None without a journal)."""
        return None if self._journal is None else self._journal.path

    def sync(self) -> None:
        """Fsync the journal now (no-op without one)."""
        with self.lock:
            if self._journal is not None:
                self._journal.sync()

    def close(self) -> None:
        """Sync, unlock and close the journal; the pool stays readable.

        Never raises for a journal that already failed (that was reported).
        """
        with self.lock:
            if self._journal is not None:
                self._journal.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def snapshot(
        self,
        path: str | os.PathLike[str],
        *,
        roll_journal: bool | str | os.PathLike[str] = False,
    ) -> Path:
        """Write the whole state to the directory ``path`` (parquet) and return it.

        The journal is synced first, so ``StockPool.recover(path, journal)``
        replays exactly the records after the snapshot.

        Parameters
        ----------
        path
            The snapshot directory; an older snapshot there is replaced
            crash-safely (docs/pool.md, "Durability").
        roll_journal
            True (or the new journal's path): the pool continues in a new,
            empty journal that the snapshot names, so recovery reads only the
            records written after it (``StockPool.recover(path)``) and the old
            journal may be archived or deleted. True names it after the old one:
            ``<journal>.<seq + 1>`` (with any such suffix of the old name
            replaced).
        """
        with self.lock:
            if self._journal is not None:
                self._journal.sync()
            journal = self._journal
            new: Journal | None = None
            if roll_journal is not False and roll_journal is not None:
                if journal is None:
                    msg = "snapshot: roll_journal needs a pool that keeps a journal."
                    raise InvalidRequest(msg)
                new = rolled_journal(journal, roll_journal, self._state.seq)
            crc = 0 if journal is None else journal.last_crc
            copy = copy_state(self._state)
            snap = snapshot_of(
                copy,
                with_table(self._base, self._state).model_dump_json(),
                crc,
                None if new is None else str(new.path.resolve()),
            )
            try:
                written = write_snapshot(path, snap)
            except BaseException:
                if new is not None:
                    new.close()
                raise
            if new is not None and journal is not None:
                journal.close()
                self._journal = new
            return written
