"""Contract v1.2 on the live pool: set_protection, tiers on reservations, recovery."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnistock import Scenario, Sourcer, StockPool
from omnistock.exceptions import InsufficientStock, InvalidRequest
from omnistock.pool.journal import scan_journal

SCENARIO = Scenario.model_validate(
    {
        "nodes": [
            {"id": "S1", "kind": "store", "lat": 48.85, "lon": 2.35},
            {"id": "W1", "kind": "warehouse", "lat": 45.76, "lon": 4.84},
        ],
        "stock": [
            {"node": "S1", "sku": "A", "on_hand": 5},
            {"node": "W1", "sku": "A", "on_hand": 2},
        ],
        "rules": {"last_unit_protection": {"store": 1}},
    }
)
TABLE = [
    {"node": "S1", "sku": "A", "tier": "standard", "units": 3},
    {"node": "S1", "sku": "A", "tier": "gold", "units": 1},
]


def test_each_tier_may_take_free_less_its_own_level(pool_store: str) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    pool.set_protection(TABLE)
    # free 5: standard keeps 3, gold 1, vip (exempt, no entry) 0.
    assert [pool.free("S1", "A", tier=t) for t in ("standard", "gold", "vip")] == [
        2,
        4,
        5,
    ]
    with pytest.raises(InsufficientStock):
        pool.reserve("o1", [("S1", "A", 3)], tier="standard")
    res = pool.reserve("o1", [("S1", "A", 2)], tier="standard")
    assert (res.tier, res.exempt) == ("standard", False)
    # Live reading: free is now 3, so standard may take 0 more, gold 2.
    assert pool.free("S1", "A", tier="standard") == 0
    assert pool.free("S1", "A", tier="gold") == 2
    view = pool.availability(tier="gold", by="node")
    assert view.filter(node_id="S1")["available"].item() == 2
    pool.release(res.reservation_id)
    assert pool.free("S1", "A", tier="standard") == 2


def test_a_bad_table_is_refused_and_changes_nothing(pool_store: str) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    with pytest.raises(InvalidRequest, match="unknown node 'X'"):
        pool.set_protection([{"node": "X", "sku": "A", "tier": "gold", "units": 1}])
    with pytest.raises(InvalidRequest, match="duplicate"):
        pool.set_protection([TABLE[0], TABLE[0]])
    assert pool.free("S1", "A", tier="standard") == 4  # v1: the store's last unit


def test_an_empty_table_returns_to_v1_and_an_entry_without_a_row_waits(
    pool_store: str,
) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    pool.set_protection([{"node": "W1", "sku": "B", "tier": "standard", "units": 2}])
    assert pool.free("S1", "A", tier="standard") == 4  # v1's rule where no entry
    pool.adjust("W1", "B", 5, "receipt")  # the row appears and gets its entry
    assert pool.free("W1", "B", tier="standard") == 3
    pool.set_protection([])
    assert pool.free("W1", "B", tier="standard") == 5


def test_the_sourcer_on_the_pool_follows_the_table(
    tmp_path: Path, pool_store: str
) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    sourcer = Sourcer(SCENARIO, pool=pool)
    pool.set_protection(TABLE)
    order = {
        "id": "o1",
        "tier": "standard",
        "destination": {"lat": 48.86, "lon": 2.35},
        "lines": [{"sku": "A", "qty": 5}],
    }
    decision = sourcer.source(order)
    # S1 gives standard 2 (5 - 3); the rest comes from W1.
    rows = {r["node_id"]: r["qty"] for r in decision.allocations.iter_rows(named=True)}
    assert rows == {"S1": 2, "W1": 2}
    res = sourcer.commit(decision)
    assert res is not None and res.tier == "standard"
    late = Sourcer(SCENARIO, pool=pool)  # built after the table: adopts it too
    assert late.source({**order, "id": "o2"}).allocations.height == 0


def test_set_protection_and_tiers_are_journaled_and_recovered(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")
    pool.set_protection(TABLE)
    pool.reserve("o1", [("S1", "A", 2)], tier="standard")
    snap = pool.snapshot(tmp_path / "snap")
    pool.reserve("o2", [("S1", "A", 2)], tier="gold")
    pool.close()
    ops = [rec[1] for rec in scan_journal(tmp_path / "j").records]
    assert ops == ["protection", "reserve", "reserve"]
    for start in (SCENARIO, snap):
        back = StockPool.recover(start, tmp_path / "j")
        assert [r.tier for r in back.reservations()] == ["standard", "gold"]
        assert back.free("S1", "A", tier="gold") == 0  # free 1, gold keeps 1
        assert back.free("S1", "A", tier="vip") == 1
        back.close()


def test_a_v1_reserve_record_is_unchanged(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")
    pool.reserve("o1", [("S1", "A", 1)], exempt=False)
    pool.close()
    (rec,) = scan_journal(tmp_path / "j").records
    assert rec[1:] == ["reserve", 1, "o1", None, None, False, [["S1", "A", 1]]]


def test_a_protection_record_that_does_not_apply_stops_recovery(tmp_path: Path) -> None:
    from omnistock.exceptions import JournalError
    from omnistock.pool.records import encode_record

    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")
    pool.set_protection(TABLE)
    pool.close()
    bad = encode_record(2, ["protection", [["X", "A", "gold", 1]]])
    good = encode_record(3, ["protection", []])
    with (tmp_path / "j").open("ab") as f:  # a bad record, then a good one after it
        f.write(bad + good)
    with pytest.raises(
        JournalError, match=r"record 2 does not apply: .*unknown node 'X'"
    ):
        StockPool.recover(SCENARIO, tmp_path / "j")


def test_a_vip_retry_under_its_key_returns_the_same_reservation(
    pool_store: str,
) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    pool.set_protection(TABLE)
    sourcer = Sourcer(SCENARIO, pool=pool)
    order = {
        "id": "v1",
        "tier": "vip",
        "destination": {"lat": 48.86, "lon": 2.35},
        "lines": [{"sku": "A", "qty": 5}],
    }
    first = sourcer.commit(sourcer.source(order), key="k")
    again = sourcer.commit(sourcer.source(order), key="k")
    assert first is not None and again is first
    assert (first.tier, first.exempt) == ("vip", True)


@settings(max_examples=40, deadline=None)
@given(
    units=st.lists(st.integers(0, 6), min_size=3, max_size=3),
    requests=st.lists(
        st.tuples(st.sampled_from(["standard", "gold", "vip"]), st.integers(1, 4)),
        max_size=8,
    ),
)
def test_reserves_by_tier_follow_a_plain_model(
    units: list[int], requests: list[tuple[str, int]]
) -> None:
    """A plain reading: tier t may take max(0, free - u_t) of S1/A, free falls by what it took."""
    tiers = ["standard", "gold", "vip"]
    table = [
        {"node": "S1", "sku": "A", "tier": t, "units": u}
        for t, u in zip(tiers, units, strict=True)
    ]
    pool = StockPool.from_scenario(SCENARIO)
    pool.set_protection(table)
    free = 5
    for i, (tier, qty) in enumerate(requests):
        may = max(0, free - units[tiers.index(tier)])
        assert pool.free("S1", "A", tier=tier) == may
        if qty <= may:
            pool.reserve(f"o{i}", [("S1", "A", qty)], tier=tier)
            free -= qty
        else:
            with pytest.raises(InsufficientStock):
                pool.reserve(f"o{i}", [("S1", "A", qty)], tier=tier)
