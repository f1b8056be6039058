"""The pool under faults and bad input (issue 12, items 1-4, 6, 8, 9).

Each test injects the fault (a flipped bit, a second writer, a killed process, a
full disk, a hostile argument) and asserts the promise of docs/pool.md,
"Durability".
"""

from __future__ import annotations

import gc
import json
import math
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omnistock import (
    InvalidAdjustment,
    InvalidRequest,
    JournalError,
    JournalLocked,
    Scenario,
    StockPool,
)
from omnistock.pool.journal import MAGIC, Journal, encode_record, scan_journal

SCENARIO = Scenario.model_validate(
    {
        "nodes": [
            {"id": "W1", "kind": "warehouse", "lat": 48.85, "lon": 2.35},
            {"id": "S1", "kind": "store", "lat": 45.76, "lon": 4.84},
        ],
        "stock": [
            {"node": "W1", "sku": "A", "on_hand": 100},
            {"node": "S1", "sku": "A", "on_hand": 4},
        ],
    }
)
ROOT = Path(__file__).resolve().parents[1]


def journal_of(path: Path, n: int) -> bytes:
    """A journal of ``n`` one-unit reserves on W1/A, written by a real pool."""
    with StockPool.from_scenario(SCENARIO, journal=path, fsync="never") as pool:
        for i in range(n):
            pool.reserve(f"o{i}", [("W1", "A", 1)])
    return path.read_bytes()


def record_offsets(data: bytes) -> list[int]:
    pos, out = len(MAGIC), []
    while pos < len(data):
        out.append(pos)
        pos += 8 + struct.unpack_from("<I", data, pos)[0]
    return out


# -- 1. a damaged length field is damage, never a torn tail ------------------------


def test_every_bit_flip_in_a_length_field_before_the_last_is_an_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j"
    clean = journal_of(path, 10)
    for start in record_offsets(clean)[:-1]:
        for bit in range(32):
            data = bytearray(clean)
            data[start + bit // 8] ^= 1 << (bit % 8)
            path.write_bytes(bytes(data))
            with pytest.raises(JournalError, match="is damaged and is not the last"):
                StockPool.recover(SCENARIO, path)
            # Reported as damaged: the file is exactly as it was, evidence intact.
            assert path.read_bytes() == bytes(data)
    assert not list(tmp_path.glob("j.damaged-*"))


def test_a_crafted_length_is_an_error_even_on_the_last_record(tmp_path: Path) -> None:
    path = tmp_path / "j"
    clean = journal_of(path, 5)
    offsets = record_offsets(clean)
    for start in (offsets[1], offsets[-1]):
        data = bytearray(clean)
        data[start : start + 4] = b"\xff\xff\xff\xff"
        path.write_bytes(bytes(data))
        with pytest.raises(JournalError, match="length field"):
            StockPool.recover(SCENARIO, path)
        assert path.read_bytes() == bytes(data)


def test_a_torn_tail_is_cut_but_kept_as_evidence(tmp_path: Path) -> None:
    path = tmp_path / "j"
    clean = journal_of(path, 3)
    tail = encode_record(4, ["reserve", 4, "o3", None, None, True, [["W1", "A", 1]]])
    path.write_bytes(clean + tail[:-5])
    pool = StockPool.recover(SCENARIO, path)
    assert pool.seq == 3 and pool.free("W1", "A") == 97
    pool.close()
    assert path.read_bytes() == clean
    assert (tmp_path / "j.damaged-4").read_bytes() == tail[:-5]


# -- 2. one writer per journal -------------------------------------------------------


def test_a_second_pool_in_the_same_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j"
    first = StockPool.from_scenario(SCENARIO, journal=path)
    first.reserve("o1", [("W1", "A", 19)])
    with pytest.raises(JournalLocked, match=f"process {os.getpid()}") as info:
        StockPool.from_scenario(SCENARIO, journal=path)
    assert str(path) in str(info.value) and info.value.holder == str(os.getpid())
    with pytest.raises(JournalLocked):
        StockPool.recover(SCENARIO, path)
    first.close()
    back = StockPool.recover(SCENARIO, path)  # closed: the lock is free again
    assert back.free("W1", "A") == 81
    back.close()


@pytest.mark.parametrize("fsync", ["always", "batch", "never"])
def test_a_pool_dropped_without_close_releases_its_journal(
    tmp_path: Path, fsync: Any
) -> None:
    path = tmp_path / "j"
    pool = StockPool.from_scenario(SCENARIO, journal=path, fsync=fsync)
    pool.reserve("o1", [("W1", "A", 3)])
    del pool
    gc.collect()
    back = StockPool.recover(SCENARIO, path)  # not locked by the dropped pool
    assert back.free("W1", "A") == 97
    back.close()


def child(code: str, *args: str) -> subprocess.Popen[str]:
    """A Python child running ``code`` with this tree on its path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


HOLD = """
    import sys
    from omnistock import StockPool
    from tests.test_pool_faults import SCENARIO
    pool = StockPool.from_scenario(SCENARIO, journal=sys.argv[1], fsync="always")
    pool.reserve("held", [("W1", "A", 19)])
    print("ready", flush=True)
    sys.stdin.readline()
"""


def test_a_second_process_is_refused_while_the_first_holds_the_journal(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j"
    with child(HOLD, str(path)) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        try:
            with pytest.raises(JournalLocked, match=f"process {holder.pid}"):
                StockPool.recover(SCENARIO, path)
            with pytest.raises(JournalLocked, match=str(path)):
                Journal(path)
        finally:
            holder.kill()
    back = StockPool.recover(SCENARIO, path)  # the dead process holds nothing
    assert back.free("W1", "A") == 81
    back.close()


# -- 3. quantities out of range ------------------------------------------------------


def test_out_of_range_quantities_are_refused_before_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j"
    pool = StockPool.from_scenario(SCENARIO, journal=path)
    with pytest.raises(InvalidRequest, match=r"delta must be in \[-2\*\*40, 2\*\*40\]"):
        pool.adjust("W1", "A", 2**63, "receipt")
    with pytest.raises(InvalidRequest, match=r"qty must be <= 2\*\*40"):
        pool.reserve("o1", [("W1", "A", 2**41)])
    assert pool.adjust("W1", "A", 2**40 - 100, "receipt") == 2**40
    with pytest.raises(InvalidAdjustment, match=r"above the 2\*\*40 units"):
        pool.adjust("W1", "A", 1, "receipt")
    assert pool.seq == 1
    pool.close()
    assert len(scan_journal(path).records) == 1
    back = StockPool.recover(SCENARIO, path)
    assert back.stock()["on_hand"].to_list() == [2**40, 4]
    back.close()


@pytest.mark.parametrize(
    "payload",
    [
        ["adjust", "W1", "A", 2**63, "receipt"],
        ["adjust", "W1", "A", 1.5, "receipt"],
        ["reserve", 1, "o1", None, None, True, [["W1", "A", 2**62]]],
        ["reserve", 1, "o1", None, float("nan"), True, [["W1", "A", 1]]],
        ["reserve", 1, "o1", None, None, "no", [["W1", "A", 1]]],
        ["reserve", 1, 7, None, None, True, [["W1", "A", 1]]],
        ["expire", float("nan"), []],
        ["commit", "1"],
        ["reserve", 1, "o1"],
    ],
)
def test_a_checksummed_record_with_bad_fields_is_a_journal_error(
    tmp_path: Path, payload: list[Any]
) -> None:
    path = tmp_path / "j"
    body = json.dumps([1, *payload], separators=(",", ":")).encode()
    path.write_bytes(MAGIC + struct.pack("<II", len(body), zlib.crc32(body)) + body)
    with pytest.raises(JournalError, match="record 1 does not apply"):
        StockPool.recover(SCENARIO, path)


# -- 4. batch fsync holds when the service goes quiet ------------------------------

IDLE = """
    import os, sys
    from omnistock import StockPool
    from tests.test_pool_faults import SCENARIO
    real = os.fsync
    synced = open(sys.argv[2], "a")
    def fsync(fd):
        real(fd)
        synced.write("synced\\n"); synced.flush()
    os.fsync = fsync
    pool = StockPool.from_scenario(
        SCENARIO, journal=sys.argv[1], fsync="batch", batch_records=1000, batch_ms=50
    )
    for i in range(30):
        pool.reserve(f"o{i}", [("W1", "A", 1)])
    print("acknowledged", pool.seq, flush=True)
    sys.stdin.readline()  # idle until killed
"""


def test_sigkill_while_idle_loses_nothing_acknowledged_with_batch(
    tmp_path: Path,
) -> None:
    path, log = tmp_path / "j", tmp_path / "fsyncs"
    log.touch()
    with child(IDLE, str(path), str(log)) as service:
        assert service.stdout is not None
        assert service.stdout.readline() == "acknowledged 30\n"
        # The timer thread syncs within the window although no append follows ...
        for _ in range(3000):  # poll (up to 30 s on a crowded machine)
            if log.read_text().count("synced") >= 2:  # at open, then the timer
                break
            time.sleep(0.01)
        assert log.read_text().count("synced") >= 2
        service.send_signal(signal.SIGKILL)
    # ... and the kill loses none of the 30 acknowledged reserves.
    back = StockPool.recover(SCENARIO, path)
    assert back.seq == 30 and back.free("W1", "A") == 70
    back.close()


# -- 6. text a snapshot cannot store ---------------------------------------------


def test_lone_surrogates_are_refused_at_reserve(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")
    with pytest.raises(InvalidRequest, match="order_id must be valid Unicode"):
        pool.reserve("\ud800", [("W1", "A", 1)])
    with pytest.raises(InvalidRequest, match="key must be valid Unicode"):
        pool.reserve("o1", [("W1", "A", 1)], key="k\udfff")
    with pytest.raises(InvalidRequest, match="reason must be valid Unicode"):
        pool.adjust("W1", "A", 1, "\ud800")
    assert pool.seq == 0
    pool.reserve("o1", [("W1", "A", 1)], key="clé ✓")
    snap = pool.snapshot(tmp_path / "snap")  # every snapshot still works
    pool.close()
    back = StockPool.recover(snap, tmp_path / "j")
    assert back.keyed("clé ✓") is not None
    back.close()


# -- 8. a full disk ------------------------------------------------------------------

FULL = """
    import resource, signal, sys
    from omnistock import JournalError, StockPool
    from tests.test_pool_faults import SCENARIO
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG, not a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))
    pool = StockPool.from_scenario(SCENARIO, journal=sys.argv[1], fsync=sys.argv[2])
    ok = 0
    try:
        for i in range(100):
            pool.reserve(f"o{i}", [("W1", "A", 1)])
            ok += 1
    except JournalError as err:
        first = str(err)
    try:
        pool.adjust("W1", "A", 1, "receipt")
        refused = "no"
    except JournalError as err:
        refused = str(err)
    pool.close()  # must not raise
    print(ok, pool.free("W1", "A"), "|", first, "|", refused, flush=True)
"""


@pytest.mark.parametrize("fsync", ["always", "batch", "never"])
def test_a_full_disk_fails_the_operation_and_stops_writes(
    tmp_path: Path, fsync: str
) -> None:
    path = tmp_path / "j"
    with child(FULL, str(path), fsync) as service:
        out, _ = service.communicate(timeout=120)
    assert service.returncode == 0, out
    counts, first, refused = out.strip().split(" | ")
    ok, free = map(int, counts.split())
    assert 0 < ok < 100 and free == 100 - ok  # the failed reserve was not applied
    # A real partial write (EFBIG from the kernel): cut back, reported, not applied.
    assert f"writing record {ok + 1} failed" in first
    assert "nothing was applied" in first
    assert "broken by a failed write" in refused
    back = StockPool.recover(SCENARIO, path)  # exactly the acknowledged ones
    assert back.seq == ok and back.free("W1", "A") == 100 - ok
    back.close()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: a disk that really fills up (needs root to mount)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    cmd = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)]
    if os.geteuid() != 0 or subprocess.run(cmd, capture_output=True).returncode:
        pytest.skip("needs root to mount a 64 KiB tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("fsync", ["always", "batch", "never"])
def test_a_really_full_disk_fails_the_operation_and_stops_writes(
    tiny_disk: Path, fsync: Any
) -> None:
    path = tiny_disk / "j"
    pool = StockPool.from_scenario(SCENARIO, journal=path, fsync=fsync)
    ok = 0

    def fill() -> None:
        nonlocal ok
        for _ in range(100_000):
            pool.adjust("W1", "A", 1, "receipt")
            ok += 1

    with pytest.raises(JournalError, match="No space left on device"):
        fill()
    assert ok > 0 and pool.stock()["on_hand"][0] == 100 + ok  # the failed one: not
    with pytest.raises(JournalError, match="broken by a failed write"):
        pool.reserve("o1", [("W1", "A", 1)])
    pool.close()  # does not raise
    back = StockPool.recover(SCENARIO, path)
    assert back.seq == ok and back.stock()["on_hand"][0] == 100 + ok
    back.close()


# -- 9. loose types ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttl": "5"}, "ttl must be a number"),
        ({"ttl": 10**400}, "ttl must be a finite number"),
        ({"ttl": True}, "ttl must be a number"),
        ({"ttl": math.inf}, "ttl must be a finite number"),
        ({"ttl": -1.0}, "ttl must be > 0"),
        ({"exempt": "no"}, "exempt must be True or False"),
        ({"exempt": 0}, "exempt must be True or False"),
    ],
)
def test_loose_reserve_arguments_are_refused(
    kwargs: dict[str, Any], message: str
) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    with pytest.raises(InvalidRequest, match=message):
        pool.reserve("o1", [("W1", "A", 1)], **kwargs)
    assert pool.seq == 0 and pool.free("W1", "A") == 100


@pytest.mark.parametrize("now", ["abc", math.nan, math.inf, True, None])
def test_expire_needs_a_finite_time(now: Any) -> None:
    pool = StockPool.from_scenario(SCENARIO, clock=lambda: math.nan)
    with pytest.raises(InvalidRequest, match="now must be a"):
        pool.expire(now)
