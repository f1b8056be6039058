"""The stateful model test of the pool (tests/test_pool_stateful.py) on PostgreSQL.

Every operation rule and every invariant of the in-process machine runs on a
PostgreSQL pool against the same plain model, errors and their fields
included: tiers and ``set_protection`` (contract v1.2), reservations at the
locker (S11) too. A node without a capacity limit reads ``NO_LIMIT`` there
(never counted down). The journal's rules (snapshot, crash and recover, torn records) do
not apply; a replica restart (close, then ``StockPool.connect``) takes their
place.
"""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import settings
from hypothesis.stateful import rule

from omnistock import StockPool
from omnistock.compiled.network import NO_LIMIT
from omnistock.pool.pgstore import PostgresStore
from tests.pg_server import missing_reason, shared_dsn
from tests.test_pool_stateful import SCENARIO, PoolMachine

_schemas = itertools.count()


class PostgresPoolMachine(PoolMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pool.close()  # the in-process pool the parent made: not used
        self.store = PostgresStore(
            shared_dsn(), schema=f"s{os.getpid()}_{next(_schemas)}"
        )
        self.pool = StockPool.from_scenario(
            SCENARIO, store=self.store, clock=self.clock
        )

    def teardown(self) -> None:
        super().teardown()
        self.store.close()

    def capacities(self) -> list[int]:
        """A node without a limit reads NO_LIMIT on PostgreSQL (never counted down)."""
        return [NO_LIMIT if c >= 2**60 else c for c in super().capacities()]

    # The journal's rules, replaced (a method without @rule is no rule).
    def snapshot(self) -> None:
        raise NotImplementedError

    def torn_record_then_recover(self) -> None:  # type: ignore[override]
        raise NotImplementedError

    def crash_and_recover(self) -> None:
        raise NotImplementedError

    @rule()
    def restart_the_replica(self) -> None:
        self.pool.close()
        self.pool = StockPool.connect(
            self.store.dsn, schema=self.store.schema, clock=self.clock
        )


TestPostgresPoolMachine = PostgresPoolMachine.TestCase
# A database round trip per call: fewer examples than in process keep CI short.
TestPostgresPoolMachine.settings = settings(
    TestPostgresPoolMachine.settings, max_examples=25
)
if missing_reason() is not None:
    TestPostgresPoolMachine = pytest.mark.skip(reason=str(missing_reason()))(
        TestPostgresPoolMachine
    )
