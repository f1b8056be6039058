"""Durability of the live pool: an append-only journal and parquet snapshots.

The journal is one file: an 8-byte magic ``OMNJRNL1`` then one record per pool
operation. A record is ``<u32 length><u32 crc32(payload)><payload>`` where the
payload is the UTF-8 JSON list ``[seq, op, *args]`` and ``seq`` counts up from 1
without gaps. A record cut short by a crash (the torn last record) is detected by
its length or checksum and ignored, never half applied; damage anywhere before
the last record is a :class:`~omnistock.exceptions.JournalError`.

When records reach the disk is the ``fsync`` policy:

``"always"``
    flush and ``os.fsync`` after every record (nothing acknowledged is lost);
``"batch"``
    flush once ``batch_records`` records or ``batch_ms`` milliseconds have
    passed since the last sync, checked at each append, and fsync on a
    background thread (a power loss loses at most that window plus one fsync);
    :meth:`Journal.sync` and :meth:`Journal.close` sync at once;
``"never"``
    leave it to the operating system (a process crash may lose the buffer).

A snapshot is a directory: ``network.json`` (the scenario without stock or
orders), ``stock.parquet`` (one row per stock row), ``reservations.parquet``
(one row per reservation line), ``status.parquet`` (the status of every
reservation id) and ``meta.json`` (the journal sequence number it includes).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from omnistock.exceptions import InvalidRequest, JournalError

if TYPE_CHECKING:
    pass

__all__ = [
    "FSYNC_POLICIES",
    "MAGIC",
    "Journal",
    "JournalScan",
    "Snapshot",
    "encode_record",
    "open_empty_journal",
    "read_snapshot",
    "scan_journal",
    "write_snapshot",
]

FsyncPolicy = Literal["always", "batch", "never"]
FSYNC_POLICIES: tuple[str, ...] = ("always", "batch", "never")
MAGIC = b"OMNJRNL1"
SNAPSHOT_FORMAT = 1
_HEADER = struct.Struct("<II")
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_str: Callable[[str], str] = json.encoder.encode_basestring_ascii


def _reserve_body(
    seq: int,
    rid: int,
    order_id: str,
    key: str | None,
    deadline: float | None,
    exempt: bool,
    lines: Any,
) -> bytes:
    # The hot record, written by hand; same JSON as _dumps([seq, "reserve", ...]).
    text = ",".join(f"[{_str(n)},{_str(s)},{q}]" for n, s, q in lines)
    return (
        f'[{seq},"reserve",{rid},{_str(order_id)},'
        f"{'null' if key is None else _str(key)},"
        f"{'null' if deadline is None else _dumps(deadline)},"
        f"{'true' if exempt else 'false'},[{text}]]"
    ).encode()


def encode_record(seq: int, payload: list[Any]) -> bytes:
    """The bytes of record ``[seq, *payload]``: length, crc32, JSON payload."""
    if len(payload) == 2 and type(payload[1]) is int:  # commit / release: no escaping
        body = f'[{seq},"{payload[0]}",{payload[1]}]'.encode()
    elif payload[0] == "reserve":
        body = _reserve_body(seq, *payload[1:])
    else:
        body = _dumps([seq, *payload]).encode()
    return _HEADER.pack(len(body), zlib.crc32(body)) + body


@dataclass(frozen=True)
class JournalScan:
    """What a journal file holds.

    Attributes
    ----------
    records
        The intact records, each ``[seq, op, *args]``, in order.
    end
        Byte offset just past the last intact record.
    torn
        Whether bytes after ``end`` (a torn last record) were ignored.
    """

    records: list[list[Any]]
    end: int
    torn: bool


def _decode(body: bytes) -> list[Any] | None:
    try:
        rec = json.loads(body)
    except ValueError:
        return None
    if isinstance(rec, list) and rec and type(rec[0]) is int and len(rec) >= 2:
        return rec
    return None


def scan_journal(path: str | os.PathLike[str]) -> JournalScan:
    """Read every intact record of the journal at ``path``.

    A missing or empty file holds no records. The last record may be torn (cut
    short, zero-filled or failing its checksum) and is then left out; any
    damaged record followed by more data, or a gap in the sequence numbers,
    raises :class:`~omnistock.exceptions.JournalError`.
    """
    p = Path(path)
    data = p.read_bytes() if p.exists() else b""
    n = len(data)
    if n < len(MAGIC):
        if data != MAGIC[:n]:
            raise JournalError(p, "not an omnistock journal (bad magic).")
        return JournalScan([], 0, n > 0)
    if data[: len(MAGIC)] != MAGIC:
        raise JournalError(p, "not an omnistock journal (bad magic).")
    pos = len(MAGIC)
    records: list[list[Any]] = []
    while pos < n:
        rec: list[Any] | None = None
        end = pos + _HEADER.size
        if end <= n:
            length, crc = _HEADER.unpack_from(data, pos)
            end += length
            body = data[pos + _HEADER.size : end]
            if length > 0 and end <= n and zlib.crc32(body) == crc:
                rec = _decode(body)
        if rec is None:
            # Cut short, or nothing but zeros after it: the torn last record.
            if end >= n or not data[pos:].strip(b"\0"):
                return JournalScan(records, pos, True)
            raise JournalError(
                p, f"record at byte {pos} is damaged and is not the last."
            )
        expected = records[-1][0] + 1 if records else rec[0]
        if rec[0] != expected:
            raise JournalError(
                p, f"sequence gap at byte {pos}: expected {expected}, got {rec[0]}."
            )
        records.append(rec)
        pos = end
    return JournalScan(records, pos, False)


class Journal:
    """An append-only journal file, opened for appending.

    Opening scans the file (:func:`scan_journal`), cuts off a torn last record
    so new records never follow garbage, and keeps the intact records in
    :attr:`recovered` for the pool to replay. Not thread-safe by itself: the
    pool calls it under its lock.

    Parameters
    ----------
    path
        The journal file; created when missing.
    fsync
        ``"always"``, ``"batch"`` or ``"never"`` (module docstring).
    batch_records, batch_ms
        The ``"batch"`` window: sync after this many records or milliseconds.
        The fsync itself runs on a background thread (it releases the GIL), so
        appends do not wait for the disk.
    clock
        Monotonic seconds, for the ``batch_ms`` window.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = "batch",
        batch_records: int = 10_000,
        batch_ms: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            msg = f"fsync must be one of {', '.join(FSYNC_POLICIES)}. Got {fsync!r}."
            raise InvalidRequest(msg)
        if batch_records < 1 or batch_ms < 0:
            msg = (
                "batch_records must be >= 1 and batch_ms >= 0. Got "
                f"batch_records={batch_records}, batch_ms={batch_ms}."
            )
            raise InvalidRequest(msg)
        self.path = Path(path)
        scan = scan_journal(self.path)
        self.recovered: list[list[Any]] = scan.records
        self.torn = scan.torn
        self.last_seq: int = scan.records[-1][0] if scan.records else 0
        self.fsync = fsync
        self._batch_records = batch_records
        self._batch_s = batch_ms / 1000.0
        self._clock = clock
        if scan.end == 0:
            self.path.write_bytes(MAGIC)
        elif scan.torn:
            with self.path.open("r+b") as f:
                f.truncate(scan.end)
        self._file = self.path.open("ab")
        self._pending = 0
        self._last_sync = clock()
        self._error: BaseException | None = None
        self._wake = threading.Event()
        self._stop = False
        self._syncer: threading.Thread | None = None
        self.sync()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._file.closed

    def append(self, payload: list[Any]) -> int:
        """Write record ``[seq, *payload]`` with the next ``seq`` and return it."""
        if self._error is not None or self._file.closed:
            raise JournalError(
                self.path, "closed or broken by a failed write; recover the pool."
            )
        seq = self.last_seq + 1
        data = encode_record(seq, payload)
        try:
            self._file.write(data)
            self._pending += 1
            if self.fsync == "always":
                self.sync()
            elif self.fsync == "batch" and (
                self._pending >= self._batch_records
                or self._clock() - self._last_sync >= self._batch_s
            ):
                self._file.flush()
                self._pending = 0
                self._last_sync = self._clock()
                self._background_fsync()
        except OSError as err:
            # Part of the record may be on disk: refuse more, so it stays the last.
            self._error = err
            raise
        self.last_seq = seq
        return seq

    def _background_fsync(self) -> None:
        if self._syncer is None:
            self._syncer = threading.Thread(
                target=self._sync_loop,
                name=f"journal-fsync:{self.path.name}",
                daemon=True,
            )
            self._syncer.start()
        self._wake.set()

    def _sync_loop(self) -> None:
        fd = self._file.fileno()
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop:
                return
            try:
                os.fsync(fd)
            except OSError as err:  # seen by the next append
                self._error = err
                return

    def sync(self) -> None:
        """Flush buffered records and fsync them now (any policy but ``"never"``)."""
        self._file.flush()
        if self.fsync != "never":
            os.fsync(self._file.fileno())
        self._pending = 0
        self._last_sync = self._clock()

    def close(self) -> None:
        """Sync and close the file; closing twice does nothing."""
        if self._syncer is not None:
            self._stop = True
            self._wake.set()
            self._syncer.join()
            self._syncer = None
        if not self._file.closed:
            if self._error is None:
                self.sync()
            self._file.close()


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


# -- snapshots ----------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A pool snapshot read back from disk (see :func:`write_snapshot`).

    Attributes
    ----------
    network_json
        The scenario without stock or orders, as JSON text.
    stock
        node_id, sku, on_hand, reserved, safety_stock, shipped, received.
    reservations
        reservation_id, order_id, key, deadline, exempt, node_id, sku, qty:
        one row per line of every active or keyed reservation.
    status
        ``status`` (UInt8) of every reservation id, indexed by id.
    seq
        The last journal sequence number the snapshot includes.
    """

    network_json: str
    stock: pl.DataFrame
    reservations: pl.DataFrame
    status: pl.DataFrame
    seq: int


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_snapshot(path: str | os.PathLike[str], snapshot: Snapshot) -> Path:
    """Write ``snapshot`` to the directory ``path`` atomically and return it.

    The files are written to ``<path>.tmp``, synced, then renamed into place,
    so a crash leaves either the old snapshot or the new one.
    """
    final = Path(path)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "network.json").write_text(snapshot.network_json)
    snapshot.stock.write_parquet(tmp / "stock.parquet")
    snapshot.reservations.write_parquet(tmp / "reservations.parquet")
    snapshot.status.write_parquet(tmp / "status.parquet")
    meta = {"format": SNAPSHOT_FORMAT, "seq": snapshot.seq}
    (tmp / "meta.json").write_text(json.dumps(meta))
    for child in tmp.iterdir():
        _fsync_path(child)
    old = final.with_name(final.name + ".old")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def read_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Read a snapshot directory written by :func:`write_snapshot`."""
    p = Path(path)
    try:
        meta = json.loads((p / "meta.json").read_text())
        if meta.get("format") != SNAPSHOT_FORMAT:
            raise JournalError(p, f"unknown snapshot format {meta.get('format')!r}.")
        return Snapshot(
            network_json=(p / "network.json").read_text(),
            stock=pl.read_parquet(p / "stock.parquet"),
            reservations=pl.read_parquet(p / "reservations.parquet"),
            status=pl.read_parquet(p / "status.parquet"),
            seq=int(meta["seq"]),
        )
    except (OSError, ValueError, KeyError) as err:
        raise JournalError(p, f"cannot read snapshot: {err}") from err
