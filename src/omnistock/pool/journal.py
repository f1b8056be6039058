"""The live pool's append-only journal: one record per operation, one writer.

The journal is one file of records (:mod:`omnistock.pool.records` has the
format); ``seq`` counts up from 1 without gaps (a rolled journal starts after its
snapshot's seq).

Every record is copied into the operating system's page cache (a memory map of
the file, no user-space buffer) before the operation is acknowledged, so a killed
process loses nothing it acknowledged. The map's disk blocks are allocated first
(``posix_fallocate``, 1 MiB at a time), so a full disk fails the operation that
needs the space, before anything is written; the file carries zeros after its
last record while open, cut off at close. When records reach the disk is the
``fsync`` policy:

``"always"``
    ``os.fsync`` after every record, before the operation returns (a power loss
    loses nothing acknowledged);
``"batch"``
    a background thread fsyncs once ``batch_records`` records are waiting, and
    at least every ``batch_ms`` milliseconds while any are (also when the
    service is idle), so a power loss loses at most that window plus one fsync;
``"never"``
    no fsync: the operating system writes when it likes (a power loss may lose
    what it had not written; a process crash loses nothing).

Only a record that really ends the file may be torn (a crash cut it short): its
declared end lies beyond the file, or it is zero-filled, AND no intact record
starts after it. Anything else is damage: :class:`~omnistock.exceptions.JournalError`,
and the file is left exactly as it is. A torn tail is cut off when the journal is
opened for writing, after its bytes are copied to ``<journal>.damaged-<seq>``.

One process, one pool: opening takes an exclusive ``flock`` on the file, held
until :meth:`Journal.close`; a second open (another process or another pool)
raises :class:`~omnistock.exceptions.JournalLocked` naming the holder's pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import re
import threading
import weakref
from pathlib import Path
from typing import Any, Literal

from omnistock.exceptions import InvalidRequest, JournalError, JournalLocked
from omnistock.pool.records import (
    HEADER,
    MAGIC,
    JournalScan,
    encode_record,
    scan_journal,
)

__all__ = [
    "FSYNC_POLICIES",
    "MAGIC",
    "Journal",
    "JournalScan",
    "encode_record",
    "fsync_path",
    "open_empty_journal",
    "rolled_journal",
    "scan_journal",
]

FsyncPolicy = Literal["always", "batch", "never"]
FSYNC_POLICIES: tuple[str, ...] = ("always", "batch", "never")
#: Bytes of the journal file mapped (and allocated on disk) at a time.
_WINDOW = 1 << 20


def _lock_holder(fd: int) -> str:
    """The pid holding a lock on ``fd``'s file, from /proc/locks (Linux), or "unknown"."""
    inode = os.fstat(fd).st_ino
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 08:01:131 0 EOF"
        if len(fields) >= 6 and fields[5].rsplit(":", 1)[-1] == str(inode):
            return fields[4]
    return "unknown"


class Journal:
    """An append-only journal file, opened for appending by this pool alone.

    Opening takes the file's lock, scans it (:func:`scan_journal`), cuts off a
    torn last record (its bytes kept in ``<journal>.damaged-<seq>``) and keeps
    the intact records in :attr:`recovered` for the pool to replay. Not
    thread-safe by itself: the pool calls it under its lock.

    Parameters
    ----------
    path
        The journal file; created when missing.
    fsync
        ``"always"``, ``"batch"`` or ``"never"`` (module docstring).
    batch_records, batch_ms
        The ``"batch"`` window: a background thread fsyncs once this many records
        wait, and every ``batch_ms`` milliseconds while any do.

    Raises
    ------
    JournalLocked
        Another open journal (this process or another) holds the file.
    JournalError
        The file is damaged (it is left as it is).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = "batch",
        batch_records: int = 10_000,
        batch_ms: float = 100.0,
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            msg = f"fsync must be one of {', '.join(FSYNC_POLICIES)}. Got {fsync!r}."
            raise InvalidRequest(msg)
        if (
            isinstance(batch_records, bool)
            or not isinstance(batch_records, int)
            or not isinstance(batch_ms, int | float)
            or not batch_records >= 1
            or not 0 <= batch_ms < 1e9
        ):
            msg = (
                "batch_records must be an integer >= 1 and batch_ms a number in "
                f"[0, 1e9). Got batch_records={batch_records!r}, batch_ms={batch_ms!r}."
            )
            raise InvalidRequest(msg)
        self.path = Path(path)
        self.fsync = fsync
        self.batch_records = batch_records
        self.batch_ms = batch_ms
        self._fd = self._open_locked()
        try:
            scan = scan_journal(self.path)
            self._keep_torn_tail(scan)
        except BaseException:
            os.close(self._fd)
            raise
        self.recovered: list[list[Any]] = scan.records
        #: crc32 of each recovered record's payload.
        self.recovered_crcs = scan.crcs
        self.torn = scan.torn
        self._last_crc = scan.crcs[-1] if scan.crcs else 0
        self._last = b""  # the last record appended, if any
        self.last_seq: int = scan.records[-1][0] if scan.records else 0
        self.synced_seq = self.last_seq
        self._end = max(scan.end, len(MAGIC))
        self._map: mmap.mmap | None = None
        self._base = self._limit = 0
        self._batch_records = batch_records
        self._batch_s = batch_ms / 1000.0
        self._error: BaseException | None = None
        self._closed = False
        self._kick = threading.Event()
        self._syncer: threading.Thread | None = None
        self.sync()
        if fsync == "batch":
            # The thread holds the journal weakly, so a journal dropped without
            # close() is still collected (and closed, unlocking the file).
            self._syncer = threading.Thread(
                target=_sync_loop,
                args=(weakref.ref(self), self._kick, self._batch_s or None),
                name=f"journal-fsync:{self.path.name}",
                daemon=True,
            )
            self._syncer.start()

    def _open_locked(self) -> int:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            os.close(fd)
            raise JournalLocked(self.path, holder) from None
        except OSError as err:
            os.close(fd)
            raise JournalError(self.path, f"cannot lock the journal: {err}") from err
        return fd

    def _keep_torn_tail(self, scan: JournalScan) -> None:
        """Start a fresh file, or move a torn tail aside and cut it off.

        Zeros after the last record are preallocated space, not evidence.
        """
        if scan.end == 0:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, MAGIC, 0)
        elif scan.torn:
            size = os.fstat(self._fd).st_size
            tail = os.pread(self._fd, size - scan.end, scan.end).rstrip(b"\0")
            if tail:
                seq = scan.records[-1][0] + 1 if scan.records else 1
                evidence = self.path.with_name(f"{self.path.name}.damaged-{seq}")
                evidence.write_bytes(tail)
                fsync_path(evidence)
            os.ftruncate(self._fd, scan.end)

    def _map_window(self, need: int) -> None:
        """Map a window of the file that holds the next ``need`` bytes.

        The window's disk blocks are allocated first (``posix_fallocate``), so a
        full disk fails here, before anything is written, and a record copied
        into the map can no longer fail for want of space.
        """
        start = self._end - self._end % mmap.ALLOCATIONGRANULARITY
        exact = self._end + need - start
        error: OSError | None = None
        for size in (max(_WINDOW, exact), exact):
            try:
                os.posix_fallocate(self._fd, start, size)
            except OSError as err:
                error = err
                continue
            old = self._map
            self._map = mmap.mmap(self._fd, size, offset=start)
            self._map.seek(self._end - start)
            self._base, self._limit = start, start + size
            if old is not None:
                old.close()
            return
        assert error is not None
        raise error

    def continue_from(self, seq: int) -> None:
        """Number the next record ``seq + 1``: an empty journal continuing a snapshot."""
        if self.last_seq:
            msg = "only an empty journal continues a snapshot."
            raise JournalError(self.path, msg)
        self.last_seq = self.synced_seq = seq

    @property
    def last_crc(self) -> int:
        """crc32 of the last record's payload (a snapshot remembers it)."""
        if self._last:
            crc: int = HEADER.unpack_from(self._last)[1]
            return crc
        return self._last_crc

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def append(self, payload: list[Any]) -> int:
        """Write record ``[seq, *payload]`` with the next ``seq`` and return it.

        Raises JournalError (and writes nothing more, ever) when the write fails:
        the caller must not apply the operation.
        """
        if self._error is not None or self._closed:
            raise JournalError(
                self.path,
                "closed, or broken by a failed write or fsync; recover the pool "
                f"(StockPool.recover) to write again. Cause: {self._error or 'closed'}.",
            )
        seq = self.last_seq + 1
        data = encode_record(seq, payload)
        at, end = self._end, self._end + len(data)
        try:
            if end > self._limit:
                self._map_window(len(data))
            # Into the page cache: a killed process loses nothing acknowledged.
            self._map.write(data)  # type: ignore[union-attr]  # mapped above
            if self.fsync == "always":
                os.fsync(self._fd)  # also writes back the mapped pages (Linux)
                self.synced_seq = seq
        except OSError as err:
            # The operation will not be applied: its record must not replay.
            self._error = err
            if self._map is not None and end <= self._limit:
                self._map[at - self._base : end - self._base] = bytes(len(data))
            raise JournalError(
                self.path, f"writing record {seq} failed: {err}; nothing was applied."
            ) from err
        self.last_seq = seq
        self._end = end
        self._last = data
        if (
            self._syncer is not None
            and (self._batch_s == 0.0 or seq - self.synced_seq >= self._batch_records)
            and not self._kick.is_set()
        ):
            self._kick.set()  # a batch is full: the syncer need not wait its time
        return seq

    def _sync_waiting(self) -> bool:
        """Fsync the records that wait (the batch thread); False once it must stop."""
        target = self.last_seq
        if self._closed:
            return False
        if target > self.synced_seq:
            try:
                os.fsync(self._fd)
            except OSError as err:  # seen by the next append
                self._error = err
                return False
            self.synced_seq = max(self.synced_seq, target)
        return True

    def sync(self) -> None:
        """Fsync the records written so far now (any policy but ``"never"``)."""
        if self.fsync != "never" and self._error is None:
            try:
                os.fsync(self._fd)
            except OSError as err:
                self._error = err
                raise JournalError(self.path, f"fsync failed: {err}.") from err
            self.synced_seq = self.last_seq

    def close(self) -> None:
        """Sync (when not broken), unlock and close; closing twice does nothing.

        Never raises for a failed write or fsync: that was already reported.
        """
        if self._closed:
            return
        self._closed = True
        if self._syncer is not None:
            self._kick.set()
            if self._syncer is not threading.current_thread():
                self._syncer.join()
            self._syncer = None
        try:
            if self._error is None and self.fsync != "never":
                os.fsync(self._fd)
                self.synced_seq = self.last_seq
        except OSError as err:
            self._error = err
        finally:
            if self._map is not None:
                self._map.close()
            with contextlib.suppress(OSError):  # the preallocated zeros go
                os.ftruncate(self._fd, self._end)
            os.close(self._fd)  # closing the descriptor releases the flock

    def __del__(self) -> None:
        # A journal dropped without close(): sync, unlock and close it anyway.
        with contextlib.suppress(Exception):
            self.close()


def _sync_loop(
    ref: weakref.ref[Journal], kick: threading.Event, timeout: float | None
) -> None:
    """The batch thread: fsync every ``timeout`` seconds (also idle) or when kicked."""
    while True:
        kick.wait(timeout)
        kick.clear()
        journal = ref()
        if journal is None or not journal._sync_waiting():
            return
        del journal  # hold it only while syncing


def fsync_path(path: Path) -> None:
    """Sync a file or a directory to disk by path (a rename lasts once its directory does)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_empty_journal(
    journal: str | os.PathLike[str] | Journal, **sync: Any
) -> Journal:
    """``journal`` opened (with the ``sync`` options) for a pool that starts afresh.

    Raises JournalError when it already holds records: those belong to a pool
    that :meth:`omnistock.StockPool.recover` resumes.
    """
    j = journal if isinstance(journal, Journal) else Journal(journal, **sync)
    if j.recovered:
        j.close()
        raise JournalError(
            j.path, "holds records; resume with StockPool.recover(snapshot, journal)."
        )
    return j


def rolled_journal(
    journal: Journal, roll: bool | str | os.PathLike[str], seq: int
) -> Journal:
    """A new, empty journal continuing ``journal`` after record ``seq``.

    ``roll`` True names it ``<journal>.<seq + 1>`` (any such suffix of the old
    name replaced); a path chooses it. It must not hold records already.
    """
    if roll is True:
        stem = re.sub(r"\.\d+$", "", journal.path.name)
        target = journal.path.with_name(f"{stem}.{seq + 1}")
    else:
        target = Path(str(roll))
    if target.exists() and target.stat().st_size > 0:
        raise JournalError(target, "exists; a rolled journal starts empty.")
    new = Journal(
        target,
        fsync=journal.fsync,
        batch_records=journal.batch_records,
        batch_ms=journal.batch_ms,
    )
    new.continue_from(seq)
    return new
