"""Journal records, torn tails, fsync policies, snapshots and StockPool.recover."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from omnistock import (
    InvalidRequest,
    JournalError,
    Scenario,
    StockPool,
    UnknownReservation,
)
from omnistock.pool.journal import MAGIC, Journal, encode_record, scan_journal
from tests.test_pool_snapshots import resign

SCENARIO = Scenario.model_validate(
    {
        "nodes": [
            {"id": "W1", "kind": "warehouse", "lat": 48.85, "lon": 2.35},
            {"id": "S1", "kind": "store", "lat": 45.76, "lon": 4.84},
        ],
        "stock": [
            {"node": "W1", "sku": "A", "on_hand": 10},
            {"node": "S1", "sku": "A", "on_hand": 4, "safety_stock": 1},
            {"node": "S1", "sku": "B", "on_hand": 2},
        ],
        "rules": {"last_unit_protection": {"store": 1}},
    }
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write_journal(path: Path, payloads: list[list[Any]], first: int = 1) -> list[bytes]:
    records = [encode_record(first + i, p) for i, p in enumerate(payloads)]
    path.write_bytes(MAGIC + b"".join(records))
    return records


PAYLOADS = [["commit", 1], ["release", 2], ["adjust", "W1", "A", 3, "receipt"]]


def test_scan_reads_back_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "j"
    write_journal(path, PAYLOADS)
    scan = scan_journal(path)
    assert scan.records == [[i + 1, *p] for i, p in enumerate(PAYLOADS)]
    assert (scan.torn, scan.end) == (False, path.stat().st_size)


def test_missing_or_empty_journal_holds_nothing(tmp_path: Path) -> None:
    assert scan_journal(tmp_path / "none").records == []
    (tmp_path / "empty").write_bytes(b"")
    assert scan_journal(tmp_path / "empty").torn is False


def test_every_cut_of_the_last_record_is_torn_and_ignored(tmp_path: Path) -> None:
    path = tmp_path / "j"
    records = write_journal(path, PAYLOADS)
    whole = path.read_bytes()
    start = len(whole) - len(records[-1])
    for cut in range(start + 1, len(whole)):
        path.write_bytes(whole[:cut])
        scan = scan_journal(path)
        assert scan.torn, cut
        assert [r[0] for r in scan.records] == [1, 2]
        assert scan.end == start


def test_a_zero_filled_tail_is_torn(tmp_path: Path) -> None:
    path = tmp_path / "j"
    write_journal(path, PAYLOADS)
    with path.open("ab") as f:
        f.write(b"\0" * 100)
    scan = scan_journal(path)
    assert scan.torn
    assert len(scan.records) == 3


def test_a_last_record_failing_its_checksum_is_torn(tmp_path: Path) -> None:
    path = tmp_path / "j"
    write_journal(path, PAYLOADS)
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert [r[0] for r in scan_journal(path).records] == [1, 2]


def test_damage_before_the_last_record_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "j"
    records = write_journal(path, PAYLOADS)
    data = bytearray(path.read_bytes())
    data[len(MAGIC) + len(records[0]) + 10] ^= 0xFF  # inside record 2 of 3
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError, match="damaged and is not the last"):
        scan_journal(path)


def test_a_sequence_gap_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_bytes(MAGIC + encode_record(1, ["commit", 1]) + encode_record(3, ["x"]))
    with pytest.raises(JournalError, match=r"sequence gap .* expected 2, got 3"):
        scan_journal(path)


def test_a_foreign_file_is_not_a_journal(tmp_path: Path) -> None:
    (tmp_path / "j").write_bytes(b"hello world, not a journal")
    with pytest.raises(JournalError, match="bad magic"):
        scan_journal(tmp_path / "j")


def test_opening_cuts_the_torn_tail_and_continues(tmp_path: Path) -> None:
    path = tmp_path / "j"
    write_journal(path, PAYLOADS)
    with path.open("ab") as f:
        f.write(encode_record(4, ["commit", 9])[:7])
    journal = Journal(path)
    assert (journal.torn, journal.last_seq) == (True, 3)
    assert journal.append(["commit", 5]) == 4
    journal.close()
    scan = scan_journal(path)
    assert [r[0] for r in scan.records] == [1, 2, 3, 4]
    assert not scan.torn


def wait_for(condition: Any, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.001)
    return True


def test_fsync_always_syncs_every_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "j", fsync="always")
    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", calls.append)
    for i in range(5):
        journal.append(["commit", i])
        assert len(calls) == i + 1
        assert len(scan_journal(tmp_path / "j").records) == i + 1
    journal.close()


def test_fsync_never_leaves_it_to_the_os(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "j", fsync="never")
    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", calls.append)
    for i in range(5):
        journal.append(["commit", i])
    journal.close()
    assert calls == []
    assert len(scan_journal(tmp_path / "j").records) == 5


@pytest.mark.threads
def test_fsync_batch_after_batch_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "j", batch_records=4, batch_ms=1e8)
    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", calls.append)
    for i in range(3):
        journal.append(["commit", i])
    # Written at once (a killed process loses nothing), not yet synced ...
    assert len(scan_journal(tmp_path / "j").records) == 3
    assert calls == []
    journal.append(["commit", 3])
    assert wait_for(lambda: len(calls) == 1)  # ... synced in the background
    assert journal.synced_seq == 4
    journal.close()
    assert len(calls) == 2  # close syncs too


@pytest.mark.threads
def test_fsync_batch_after_batch_ms_also_when_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "j", batch_records=1000, batch_ms=20.0)
    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", calls.append)
    journal.append(["commit", 1])
    journal.append(["commit", 2])
    # No further append: the timer syncs within the window anyway.
    assert wait_for(lambda: journal.synced_seq == 2)
    assert len(calls) >= 1
    journal.close()


def test_unknown_fsync_policy_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidRequest, match="fsync must be one of always, batch, never"
    ):
        Journal(tmp_path / "j", fsync="sometimes")  # type: ignore[arg-type]


# -- the pool's journal --------------------------------------------------------------


def busy_pool(path: Path, clock: FakeClock) -> StockPool:
    pool = StockPool.from_scenario(SCENARIO, journal=path, clock=clock, fsync="always")
    r1 = pool.reserve("o1", [("W1", "A", 2), ("S1", "A", 1)], key="cart-1")
    pool.reserve("o2", [("S1", "B", 2)], ttl=30.0)
    pool.reserve("o3", [("W1", "A", 1)], ttl=10.0, exempt=False)
    pool.commit(r1.reservation_id)
    pool.adjust("S1", "A", 5, "receipt")
    clock.now = 10.0
    assert pool.expire() == [3]
    return pool


def status_or_none(pool: StockPool, rid: int) -> str | None:
    try:
        return pool.status(rid)
    except UnknownReservation:
        return None


def state(pool: StockPool) -> tuple[Any, ...]:
    return (
        pool.stock().rows(),
        [(r, pool.status(r.reservation_id)) for r in pool.reservations()],
        [status_or_none(pool, i) for i in range(6)],
        pool.seq,
    )


def test_recover_from_the_scenario_and_the_journal(tmp_path: Path) -> None:
    clock = FakeClock()
    pool = busy_pool(tmp_path / "j", clock)
    pool.close()
    back = StockPool.recover(SCENARIO, tmp_path / "j", clock=clock)
    assert state(back) == state(pool)
    # Keys and deadlines survive: same key, same reservation; o2 expires at 30.
    assert (
        back.reserve(
            "o1", [("S1", "A", 1), ("W1", "A", 2)], key="cart-1"
        ).reservation_id
        == 1
    )
    clock.now = 30.0
    assert back.expire() == [2]
    back.close()


def test_recover_from_a_snapshot_and_the_rest_of_the_journal(tmp_path: Path) -> None:
    clock = FakeClock()
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j", clock=clock)
    pool.reserve("o1", [("W1", "A", 4)], key="k", ttl=5.0)
    snap = pool.snapshot(tmp_path / "snap")
    pool.reserve("o2", [("S1", "A", 2)])
    pool.adjust("W1", "A", -1, "damage")
    pool.close()
    back = StockPool.recover(snap, tmp_path / "j", clock=clock)
    assert state(back) == state(pool)
    clock.now = 5.0
    assert back.expire() == [1]
    assert back.reserve("o1", [("W1", "A", 4)], key="k").reservation_id == 1
    back.close()


def test_recover_from_a_snapshot_with_a_fresh_journal(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j1")
    pool.reserve("o1", [("W1", "A", 4)])
    snap = pool.snapshot(tmp_path / "snap")
    pool.close()
    back = StockPool.recover(snap, tmp_path / "j2")
    back.reserve("o2", [("W1", "A", 1)])
    back.close()
    assert scan_journal(tmp_path / "j2").records[0][0] == snap_seq(pool) + 1
    again = StockPool.recover(snap, tmp_path / "j2")
    assert again.free("W1", "A") == 5
    again.close()


def snap_seq(pool: StockPool) -> int:
    return pool.seq


def test_recover_ignores_a_torn_last_operation(tmp_path: Path) -> None:
    clock = FakeClock()
    pool = busy_pool(tmp_path / "j", clock)
    pool.close()
    with (tmp_path / "j").open("ab") as f:
        f.write(encode_record(pool.seq + 1, ["adjust", "W1", "A", 100, "receipt"])[:-3])
    back = StockPool.recover(SCENARIO, tmp_path / "j", clock=clock)
    assert state(back) == state(pool)
    back.close()


def test_a_fresh_pool_refuses_a_journal_with_records(tmp_path: Path) -> None:
    busy_pool(tmp_path / "j", FakeClock()).close()
    with pytest.raises(
        JournalError, match=r"holds records; resume with StockPool\.recover"
    ):
        StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")


def test_a_journal_of_another_network_does_not_apply(tmp_path: Path) -> None:
    path = tmp_path / "j"
    write_journal(path, [["adjust", "W1", "A", -50, "damage"]])
    with pytest.raises(JournalError, match=r"record 1 does not apply.*below zero"):
        StockPool.recover(SCENARIO, path)


def test_a_journal_that_does_not_continue_the_snapshot(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")
    for i in range(3):
        pool.reserve(f"o{i}", [("W1", "A", 1)])
    snap = pool.snapshot(tmp_path / "snap")
    pool.close()
    write_journal(tmp_path / "other", [["commit", 1]])
    with pytest.raises(JournalError, match="do not continue the snapshot at seq 3"):
        StockPool.recover(snap, tmp_path / "other")


def test_a_missing_snapshot_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="cannot read snapshot"):
        StockPool.recover(tmp_path / "nothing", tmp_path / "j")


def test_a_failed_journal_write_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")

    def full_disk(fd: int, offset: int, size: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full_disk)
    with pytest.raises(JournalError, match=r"writing record 1 failed.*No space left"):
        pool.reserve("o1", [("W1", "A", 4)])
    assert pool.free("W1", "A") == 10
    assert pool.reservations() == []
    with pytest.raises(JournalError, match="broken by a failed write"):
        pool.adjust("W1", "A", 1, "receipt")
    assert pool.free("W1", "A") == 10
    pool.close()  # does not raise: the failure was reported


def test_a_snapshot_with_rows_out_of_order_is_an_error(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    snap = pool.snapshot(tmp_path / "snap")
    stock = pl.read_parquet(snap / "stock.parquet")
    stock.reverse().write_parquet(snap / "stock.parquet")
    resign(snap)
    with pytest.raises(JournalError, match="stock rows are out of order"):
        StockPool.recover(snap, tmp_path / "j")


def test_recovered_rows_are_the_compiled_rows(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    pool.reserve("o1", [("S1", "A", 1)])
    back = StockPool.recover(pool.snapshot(tmp_path / "snap"), tmp_path / "j")
    for name in ("stock_indptr", "stock_node", "stock_on_hand", "sku_ids"):
        assert (getattr(back.network, name) == getattr(pool.network, name)).all()
    assert (back.network.stock_reserved == pool.stock()["reserved"].to_numpy()).all()
    assert (back.free_left == pool.free_left).all()
    assert (back.limit_left == pool.limit_left).all()
    back.close()
