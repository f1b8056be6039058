"""Snapshots under damage and crashes, and rolling the journal (issue 12, items 5 and 7)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from omnistock import InvalidRequest, JournalError, StockPool
from omnistock.pool.journal import scan_journal
from tests.test_pool_faults import SCENARIO


def resign(snap: Path) -> None:
    """Re-write the manifest, as a forger would, so only the invariants can tell."""
    meta = json.loads((snap / "meta.json").read_text())
    meta["files"] = {
        name: hashlib.sha256((snap / name).read_bytes()).hexdigest()
        for name in meta["files"]
    }
    (snap / "meta.json").write_text(json.dumps(meta))


def busy(tmp_path: Path) -> tuple[StockPool, Path]:
    """A pool with a keyed, a committed, a released and an active reservation."""
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j", clock=lambda: 0.0)
    done = pool.reserve("o1", [("W1", "A", 2)], key="k1")
    pool.commit(done.reservation_id)
    gone = pool.reserve("o2", [("S1", "A", 1)])
    pool.release(gone.reservation_id)
    pool.reserve("o3", [("W1", "A", 3), ("S1", "A", 1)], ttl=60.0, exempt=False)
    return pool, pool.snapshot(tmp_path / "snap")


def view(pool: StockPool) -> tuple[Any, ...]:
    return (
        pool.stock().rows(),
        pool.reservations(),
        pool.capacity_left.tolist(),
        pool.seq,
    )


def rewrite(snap: Path, name: str, change: Any) -> None:
    frame = pl.read_parquet(snap / f"{name}.parquet")
    change(frame).write_parquet(snap / f"{name}.parquet")
    resign(snap)


def test_a_snapshot_round_trips_with_capacity_and_keys(tmp_path: Path) -> None:
    pool, snap = busy(tmp_path)
    pool.close()
    back = StockPool.recover(snap, tmp_path / "j", clock=lambda: 0.0)
    assert view(back) == view(pool)
    assert back.keyed("k1") == pool.keyed("k1")
    back.close()


DAMAGE = {
    "truncated parquet": lambda s: (s / "stock.parquet").write_bytes(
        (s / "stock.parquet").read_bytes()[:100]
    ),
    "damaged network.json": lambda s: (s / "network.json").write_text("{"),
    "missing file": lambda s: (s / "status.parquet").unlink(),
    "missing column": lambda s: rewrite(s, "stock", lambda f: f.drop("received")),
    "missing status rows": lambda s: rewrite(s, "status", lambda f: f.head(2)),
    "unknown status code": lambda s: rewrite(
        s, "status", lambda f: f.with_columns(pl.lit(9, pl.UInt8).alias("status"))
    ),
    "lowered reserved": lambda s: rewrite(
        s, "stock", lambda f: f.with_columns(pl.col("reserved") - 1)
    ),
    "deleted stock row": lambda s: rewrite(s, "stock", lambda f: f.head(1)),
    "deleted reservation line": lambda s: rewrite(
        s, "reservations", lambda f: f.head(1)
    ),
    "bad meta": lambda s: (s / "meta.json").write_text('{"format": 2, "seq": -1}'),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_any_damage_to_a_snapshot_is_a_journal_error(
    tmp_path: Path, damage: str
) -> None:
    pool, snap = busy(tmp_path)
    pool.close()
    DAMAGE[damage](snap)
    with pytest.raises(JournalError, match=str(snap.name)):
        StockPool.recover(snap, tmp_path / "j")


def test_another_pools_snapshot_does_not_continue_this_journal(tmp_path: Path) -> None:
    pool, _ = busy(tmp_path)
    pool.close()
    other = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j2")
    for i in range(pool.seq):
        other.adjust("W1", "A", 1, f"count {i}")
    foreign = other.snapshot(tmp_path / "other-snap")
    other.close()
    with pytest.raises(JournalError, match="another pool's snapshot or journal"):
        StockPool.recover(foreign, tmp_path / "j")


@pytest.mark.parametrize("crash_at", [1, 2])
def test_a_crash_between_the_renames_keeps_a_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: int
) -> None:
    pool, snap = busy(tmp_path)
    pool.reserve("o4", [("W1", "A", 1)])
    renames = []
    real = Path.rename

    def crashing_rename(self: Path, target: Any) -> Any:
        renames.append(self)
        if len(renames) == crash_at:
            raise KeyboardInterrupt  # the process dies here
        return real(self, target)

    monkeypatch.setattr(Path, "rename", crashing_rename)
    with pytest.raises(KeyboardInterrupt):
        pool.snapshot(snap)
    monkeypatch.undo()
    pool.close()
    survivors = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("snap"))
    expected = ["snap", "snap.tmp"] if crash_at == 1 else ["snap.old", "snap.tmp"]
    assert survivors == expected
    back = StockPool.recover(snap, tmp_path / "j", clock=lambda: 0.0)
    assert view(back) == view(pool)
    back.close()
    # The next snapshot cleans up and replaces whatever survived.
    again = StockPool.recover(snap, tmp_path / "j", clock=lambda: 0.0)
    again.snapshot(snap)
    again.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("snap")) == [
        "snap"
    ]


def test_a_crash_while_writing_keeps_the_old_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool, snap = busy(tmp_path)
    pool.reserve("o4", [("W1", "A", 1)])

    def dies(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pl.DataFrame, "write_parquet", dies)
    with pytest.raises(KeyboardInterrupt):
        pool.snapshot(snap)
    monkeypatch.undo()
    pool.close()
    back = StockPool.recover(snap, tmp_path / "j", clock=lambda: 0.0)
    assert view(back) == view(pool)  # old snapshot + the whole journal
    back.close()


# -- 7. rolling the journal ------------------------------------------------------


def test_a_rolled_journal_recovers_without_the_old_one(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j", clock=lambda: 0.0)
    for i in range(50):
        pool.reserve(f"o{i}", [("W1", "A", 1)])
    snap = pool.snapshot(tmp_path / "snap", roll_journal=True)
    assert pool.journal_path == tmp_path / "j.51"
    pool.reserve("after", [("S1", "A", 2)], key="k")
    pool.close()
    assert [r[0] for r in scan_journal(tmp_path / "j.51").records] == [51]
    (tmp_path / "j").unlink()  # the old journal is no longer needed
    back = StockPool.recover(snap, clock=lambda: 0.0)  # the snapshot names j.51
    assert view(back) == view(pool)
    assert back.journal_path == tmp_path / "j.51"
    back.reserve("more", [("W1", "A", 1)])
    snap2 = back.snapshot(tmp_path / "snap", roll_journal=True)
    assert back.journal_path == tmp_path / "j.53"  # the suffix is replaced
    back.close()
    again = StockPool.recover(snap2)
    assert again.seq == 52 and again.free("W1", "A") == 49
    again.close()


def test_recovering_a_rolled_snapshot_from_the_old_journal_is_refused(
    tmp_path: Path,
) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")
    pool.reserve("o1", [("W1", "A", 1)])
    snap = pool.snapshot(tmp_path / "snap", roll_journal=tmp_path / "next")
    pool.reserve("o2", [("W1", "A", 1)])
    pool.close()
    with pytest.raises(JournalError, match="is continued by journal"):
        StockPool.recover(snap, tmp_path / "j")
    with pytest.raises(JournalError, match="continues a snapshot"):
        StockPool.recover(SCENARIO, tmp_path / "next")
    back = StockPool.recover(snap, tmp_path / "next")
    assert back.free("W1", "A") == 98
    back.close()


def test_rolling_needs_a_journal(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    with pytest.raises(InvalidRequest, match="roll_journal needs a pool"):
        pool.snapshot(tmp_path / "snap", roll_journal=True)
    shutil.rmtree(tmp_path / "snap", ignore_errors=True)
