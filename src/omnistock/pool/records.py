"""The journal's record format: encode one record, scan a file of them.

A journal file is an 8-byte magic ``OMNJRNL1`` then one record per pool
operation: ``<u32 length><u32 crc32(payload)><payload>`` where the payload is
the UTF-8 JSON list ``[seq, op, *args]`` and ``seq`` counts up without gaps.
:func:`scan_journal` reads the intact records and tells a torn last record
(a write cut by a crash) from damage (docs/pool.md, "Durability").
"""

from __future__ import annotations

import json
import os
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnistock.exceptions import JournalError

__all__ = ["HEADER", "MAGIC", "JournalScan", "encode_record", "scan_journal"]

MAGIC = b"OMNJRNL1"
HEADER = struct.Struct("<II")
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_str: Callable[[str], str] = json.encoder.encode_basestring_ascii
# Where a record's payload starts: ``[seq,"op"``.
_RECORD_START = re.compile(rb'\[(\d{1,19}),"')


def _reserve_body(
    seq: int,
    rid: int,
    order_id: str,
    key: str | None,
    deadline: float | None,
    exempt: bool,
    lines: Any,
    tier: str | None = None,
) -> bytes:
    # The hot record, written by hand; same JSON as _dumps([seq, "reserve", ...]).
    # A tier (contract v1.2) follows the lines only when the request named one.
    text = ",".join(f"[{_str(n)},{_str(s)},{q}]" for n, s, q in lines)
    return (
        f'[{seq},"reserve",{rid},{_str(order_id)},'
        f"{'null' if key is None else _str(key)},"
        f"{'null' if deadline is None else _dumps(deadline)},"
        f"{'true' if exempt else 'false'},[{text}]"
        f"{'' if tier is None else ',' + _str(tier)}]"
    ).encode()


def encode_record(seq: int, payload: list[Any]) -> bytes:
    """The bytes of record ``[seq, *payload]``: length, crc32, JSON payload."""
    if len(payload) == 2 and type(payload[1]) is int:  # commit / release: no escaping
        body = f'[{seq},"{payload[0]}",{payload[1]}]'.encode()
    elif payload[0] == "reserve" and len(payload) == 7:  # not at a locker
        body = _reserve_body(seq, *payload[1:])
    else:
        body = _dumps([seq, *payload]).encode()
    return HEADER.pack(len(body), zlib.crc32(body)) + body


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
    crcs
        crc32 of each record's payload: what a snapshot taken at that record
        remembers of the journal.
    """

    records: list[list[Any]]
    end: int
    torn: bool
    crcs: list[int] = field(default_factory=list)


def _decode(body: bytes) -> list[Any] | None:
    try:
        rec = json.loads(body)
    except ValueError:
        return None
    if isinstance(rec, list) and len(rec) >= 2 and type(rec[0]) is int:
        return rec
    return None


def _intact_at(data: bytes, start: int) -> bool:
    """Whether an intact record (header, checksum, JSON) begins at byte ``start``."""
    if start < len(MAGIC) or start + HEADER.size > len(data):
        return False
    length, crc = HEADER.unpack_from(data, start)
    end = start + HEADER.size + length
    body = data[start + HEADER.size : end]
    return bool(length > 0 and end <= len(data) and zlib.crc32(body) == crc)


def _intact_record_after(data: bytes, pos: int) -> bool:
    """Whether any intact record starts after the one at ``pos`` (then it is not torn)."""
    for match in _RECORD_START.finditer(data, pos + HEADER.size + 1):
        if _intact_at(data, match.start() - HEADER.size):
            return True
    return False


def scan_journal(path: str | os.PathLike[str]) -> JournalScan:
    """Read every intact record of the journal at ``path``; the file is not changed.

    A missing or empty file holds no records. The last record may be torn (cut
    short or zero-filled, with no intact record after it) and is then left out;
    any other damaged record, a record whose length field was changed, or a
    gap in the sequence numbers raises :class:`~omnistock.exceptions.JournalError`.
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
    crcs: list[int] = []
    while pos < n:
        rec: list[Any] | None = None
        end = pos + HEADER.size
        if end <= n:
            length, crc_read = HEADER.unpack_from(data, pos)
            end += length
            body = data[pos + HEADER.size : end]
            if length > 0 and end <= n and zlib.crc32(body) == crc_read:
                rec = _decode(body)
        if rec is None:
            _check_torn(p, data, pos, end, records)
            return JournalScan(records, pos, True, crcs)
        expected = records[-1][0] + 1 if records else rec[0]
        if rec[0] != expected:
            raise JournalError(
                p, f"sequence gap at byte {pos}: expected {expected}, got {rec[0]}."
            )
        records.append(rec)
        crcs.append(crc_read)
        pos = end
    return JournalScan(records, pos, False, crcs)


def _check_torn(
    p: Path, data: bytes, pos: int, end: int, records: list[list[Any]]
) -> None:
    """Raise JournalError unless the bad record at ``pos`` is a torn last record.

    Torn: nothing but zeros (unwritten, preallocated space) follows its declared
    end, or that end lies beyond the file; no intact record starts after it;
    and what it holds is not a complete payload (a complete payload that fails
    its length field is damage, not a cut write).
    """
    where = f"record {records[-1][0] + 1 if records else 1} at byte {pos}"
    if end < len(data) and data[end:].strip(b"\0"):
        raise JournalError(p, f"{where} is damaged and is not the last (checksum).")
    if _intact_record_after(data, pos):
        raise JournalError(
            p, f"{where} is damaged and is not the last (its length field)."
        )
    body = data[pos + HEADER.size :].rstrip(b"\0")
    if pos + HEADER.size + len(body) != end and _decode(body) is not None:
        raise JournalError(p, f"{where} is complete but its length field is damaged.")
