"""Pool snapshots on disk: parquet files under a checksummed manifest, replaced crash-safely.

A snapshot is a directory: ``network.json`` (the scenario without stock or
orders), ``stock.parquet`` (one row per stock row), ``nodes.parquet`` (node
capacity left), ``reservations.parquet`` (one row per line of every active
reservation as it holds now and of every keyed one as it was issued), ``status.parquet`` (the status of every reservation id) and,
written last, ``meta.json``: the format, the journal sequence number it
includes, the crc32 of that journal record, the journal that continues it when
it was rolled, and the sha256 of every other file.

:func:`write_snapshot` writes ``<dir>.tmp``, fsyncs it, renames the current
snapshot to ``<dir>.old``, renames ``<dir>.tmp`` into place and removes
``<dir>.old``; :func:`read_snapshot` finds whichever complete snapshot survives
a crash at any of these steps. Any damage (a checksum, a missing file or
column) is a :class:`~omnistock.exceptions.JournalError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from omnistock.exceptions import JournalError
from omnistock.pool.journal import fsync_path

__all__ = ["SNAPSHOT_FORMAT", "Snapshot", "read_snapshot", "write_snapshot"]

SNAPSHOT_FORMAT = 4
#: Older formats still read: 3 had no locker columns (no reservation at a locker).
_OLDER_FORMATS = (3,)
_FRAMES = ("stock", "nodes", "reservations", "status")
#: The columns (and types) each frame must have.
SCHEMAS: dict[str, dict[str, type[pl.DataType]]] = {
    "stock": {
        "node_id": pl.String,
        "sku": pl.String,
        "on_hand": pl.Int64,
        "reserved": pl.Int64,
        "safety_stock": pl.Int64,
        "shipped": pl.Int64,
        "received": pl.Int64,
        "returned": pl.Int64,
        "returned_unsellable": pl.Int64,
        "held": pl.Int64,
    },
    "nodes": {"node_id": pl.String, "capacity": pl.Int64},
    "reservations": {
        "reservation_id": pl.Int64,
        "order_id": pl.String,
        "key": pl.String,
        "deadline": pl.Float64,
        "exempt": pl.Boolean,
        "issued": pl.Boolean,
        "amends": pl.Int64,
        "line": pl.Int64,
        "node_id": pl.String,
        "sku": pl.String,
        "qty": pl.Int64,
        "tier": pl.String,  # contract v1.2: the tier a reservation named, or null
        "locker": pl.String,
        "parcel": pl.Boolean,
    },
    "status": {"status": pl.UInt8},
}


@dataclass(frozen=True)
class Snapshot:
    """A pool snapshot, as written or read back.

    Attributes
    ----------
    network_json
        The scenario without stock or orders, as JSON text.
    frames
        ``stock``, ``nodes``, ``reservations`` and ``status`` (:data:`SCHEMAS`).
    seq
        The last journal sequence number the snapshot includes.
    crc
        crc32 of that journal record's payload (0 for seq 0): the journal that
        continues the snapshot must hold the same record.
    journal
        The journal that continues it when it was rolled (its records start at
        ``seq + 1``); None: the journal the pool wrote when it was taken.
    """

    network_json: str
    frames: dict[str, pl.DataFrame]
    seq: int
    crc: int = 0
    journal: str | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_snapshot(path: str | os.PathLike[str], snapshot: Snapshot) -> Path:
    """Write ``snapshot`` to the directory ``path``, crash-safely, and return it."""
    final = Path(path)
    tmp = final.with_name(final.name + ".tmp")
    old = final.with_name(final.name + ".old")
    if not final.exists() and old.exists():
        # A crash between the renames left only <dir>.old (and maybe <dir>.tmp):
        # keep the survivor in place until the new snapshot is.
        old.rename(final)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "network.json").write_text(snapshot.network_json, encoding="utf-8")
    for name in _FRAMES:
        snapshot.frames[name].write_parquet(tmp / f"{name}.parquet")
    files = {child.name: _sha256(child) for child in sorted(tmp.iterdir())}
    meta = {
        "format": SNAPSHOT_FORMAT,
        "seq": snapshot.seq,
        "crc": snapshot.crc,
        "journal": snapshot.journal,
        "files": files,
    }
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    for child in tmp.iterdir():
        fsync_path(child)
    fsync_path(tmp)
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    fsync_path(final.parent)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _complete(p: Path) -> bool:
    return (p / "meta.json").is_file()


def locate_snapshot(path: str | os.PathLike[str]) -> Path:
    """The snapshot directory that survives at ``path``.

    That is ``path`` itself, else a complete ``<path>.tmp`` (a crash after it was
    written), else ``<path>.old``.
    """
    final = Path(path)
    if final.exists():
        return final
    for suffix in (".tmp", ".old"):
        candidate = final.with_name(final.name + suffix)
        if _complete(candidate):
            try:
                _verify(candidate, json.loads((candidate / "meta.json").read_text()))
            except (JournalError, ValueError, OSError):
                continue
            return candidate
    return final


def _verify(p: Path, meta: Any) -> None:
    formats = (SNAPSHOT_FORMAT, *_OLDER_FORMATS)
    if not isinstance(meta, dict) or meta.get("format") not in formats:
        got = meta.get("format") if isinstance(meta, dict) else meta
        raise JournalError(p, f"unknown snapshot format {got!r}.")
    files = meta.get("files")
    expected = {"network.json", *(f"{n}.parquet" for n in _FRAMES)}
    if not isinstance(files, dict) or set(files) != expected:
        raise JournalError(p, "the snapshot manifest does not list its files.")
    for name, digest in files.items():
        if not (p / name).is_file() or _sha256(p / name) != digest:
            raise JournalError(p, f"snapshot file {name} is missing or damaged.")


def read_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Read and verify the snapshot at ``path`` (or its crash survivor)."""
    p = locate_snapshot(path)
    try:
        meta = json.loads((p / "meta.json").read_text(encoding="utf-8"))
        _verify(p, meta)
        frames = {name: pl.read_parquet(p / f"{name}.parquet") for name in _FRAMES}
        if "tier" not in frames["reservations"].columns:  # a snapshot before v1.2
            tier = pl.lit(None, dtype=pl.String).alias("tier")
            frames["reservations"] = frames["reservations"].with_columns(tier)
        if meta["format"] == 3:  # no locker columns: no reservation at a locker
            frames["reservations"] = frames["reservations"].with_columns(
                locker=pl.lit(None, pl.String), parcel=pl.lit(False)
            )
        for name, frame in frames.items():
            if dict(frame.schema) != SCHEMAS[name]:
                raise JournalError(
                    p, f"{name}.parquet does not have the snapshot columns."
                )
        seq, crc, journal = meta["seq"], meta["crc"], meta["journal"]
        if (
            type(seq) is not int
            or type(crc) is not int
            or seq < 0
            or not (journal is None or isinstance(journal, str))
        ):
            raise JournalError(p, "meta.json holds a bad seq, crc or journal.")
        return Snapshot(
            network_json=(p / "network.json").read_text(encoding="utf-8"),
            frames=frames,
            seq=seq,
            crc=crc,
            journal=journal,
        )
    except JournalError:
        raise
    except Exception as err:  # OSError, JSON, parquet: any unreadable part
        raise JournalError(p, f"cannot read snapshot: {err}") from err
