"""The PostgreSQL store of a shared stock pool: connections, schema, errors.

:class:`PostgresStore` names a database (a libpq DSN) and a schema in it; it
creates and migrates the schema (:mod:`.pgschema`), loads a scenario into it,
hands each thread its own autocommit connection and calls the operation
functions, turning their SQLSTATE ``OS00x`` errors into the library's own
exceptions with the in-process pool's messages. psycopg 3 is imported here
only, so the rest of omnistock runs without it (extra ``omnistock[postgres]``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from omnistock.exceptions import (
    InsufficientStock,
    InvalidAdjustment,
    InvalidRequest,
    OmnistockError,
    ReservationClosed,
    StoreError,
    UnknownReservation,
    UnknownStockRow,
)
from omnistock.pool.parcels import locker_short
from omnistock.pool.pgschema import MIGRATIONS, SCHEMA_VERSION
from omnistock.pool.reservation import STATUS_NAMES

if TYPE_CHECKING:
    import psycopg

    from omnistock.compiled import CompiledNetwork
    from omnistock.model.scenario import Scenario
    from omnistock.pool.pool import StockPool

__all__ = ["PostgresStore", "StoreError"]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: The SQL of each operation function, by name (made once).
_CALLS: dict[str, str] = {}
#: One change row of an operation (the os_change type, in column order).
Change = tuple[Any, ...]


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as err:  # pragma: no cover - the extra is not installed
        msg = "PostgresStore needs psycopg 3: pip install 'omnistock[postgres]'."
        raise StoreError(msg) from err
    return psycopg


def _error(err: Exception) -> OmnistockError:
    """The library's exception for a database error raised by an operation."""
    state = getattr(err, "sqlstate", None) or ""
    if not state.startswith("OS"):
        return StoreError(f"PostgreSQL: {err}")
    d = json.loads(err.diag.message_primary)  # type: ignore[attr-defined]
    if state == "OS001":
        if d["why"] == "locker":
            return locker_short(d["node"], d["sku"], d["need"], d["have"])
        detail = {
            "norow": "The node holds no stock of this sku.",
            "protected": "Protected units are kept from non-exempt reservations.",
            "capacity": f"(node capacity left: the node may give {d['have']} more "
            "units this period)",
        }.get(d["why"], "")
        return InsufficientStock(d["node"], d["sku"], d["need"], d["have"], detail)
    if state == "OS002":
        return UnknownReservation(d["id"])
    if state == "OS003":
        return ReservationClosed(d["id"], STATUS_NAMES[d["status"]], d["action"])
    if state == "OS005":
        bound = "above the 2**40 units a row may hold" if d["above"] else ""
        return InvalidAdjustment(
            d["node"], d["sku"], d["delta"], d["on_hand"], d["reserved"], bound
        )
    if d["why"] == "node":
        return UnknownStockRow(d["node"], d["sku"], f"Unknown node {d['node']!r}.")
    return UnknownStockRow(
        d["node"],
        d["sku"],
        "The node holds no stock of this sku: only a positive delta (a "
        "receipt) adds the row.",
    )


class PostgresStore:
    """A stock pool kept in PostgreSQL, shared by every process that connects to it.

    Parameters
    ----------
    dsn
        A libpq connection string (``"host=/run/pg dbname=shop"``,
        ``"postgresql://user@db:5432/shop"``).
    schema
        The PostgreSQL schema holding the pool's tables (one pool per schema).

    Examples
    --------
    ``StockPool.from_scenario(scenario, store=PostgresStore(dsn))`` loads a
    scenario's stock into an empty schema; ``StockPool.connect(dsn)`` attaches
    to the pool already there (docs/pool.md, "Stores").
    """

    def __init__(self, dsn: str, *, schema: str = "omnistock") -> None:
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            msg = (
                f"PostgresStore: schema must be a lower-case SQL name. Got {schema!r}."
            )
            raise InvalidRequest(msg)
        self.dsn = dsn
        self.schema = schema
        self._local = threading.local()
        self._all: list[psycopg.Connection[Any]] = []
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self.schema!r})"

    # -- connections ----------------------------------------------------------------

    def connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection with the pool's schema on its search path."""
        psycopg = _psycopg()
        try:
            conn = psycopg.connect(
                self.dsn,
                autocommit=True,
                options=f"-c search_path={self.schema}",
            )
        except psycopg.Error as err:
            msg = f"PostgreSQL: cannot connect: {err}"
            raise StoreError(msg) from err
        return conn  # type: ignore[no-any-return]

    def conn(self) -> psycopg.Connection[Any]:
        """The calling thread's connection (made on first use, re-made after a loss)."""
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self.connect()
            self._local.conn = conn
            with self._guard:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened (threads reconnect on next use)."""
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()

    def call(self, function: str, *args: object) -> list[Change]:
        """``SELECT * FROM function(args...)``: one operation, one round trip."""
        got: list[Change] = self._call(function, args).fetchall()
        return got

    def call_one(self, function: str, *args: object) -> tuple[Any, ...]:
        """The one row of ``function(args...)`` (``os_reserve1``, ``os_close1``)."""
        got: tuple[Any, ...] = self._call(function, args).fetchone()
        return got

    def _call(self, function: str, args: tuple[object, ...]) -> Any:
        psycopg = _psycopg()
        sql = _CALLS.get(function)
        if sql is None:
            sql = _CALLS[function] = (
                f"SELECT * FROM {function}({', '.join(['%s'] * len(args))})"
            )
        conn = self.conn()
        # One cursor per connection for the operations: it keeps its row
        # loaders between calls (~40 % of the client's CPU per call).
        cur = getattr(self._local, "cur", None)
        if cur is None or cur.connection is not conn:
            cur = self._local.cur = conn.cursor()
        try:
            # Prepared at once: the same few statements run for the pool's life.
            return cur.execute(sql, args, prepare=True)
        except psycopg.Error as err:
            if conn.broken:
                conn.close()
            raise _error(err) from None

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """The calling thread's connection inside one transaction (rolled back on error)."""
        psycopg = _psycopg()
        conn = self.conn()
        try:
            with conn.transaction():
                yield conn
        except psycopg.Error as err:
            if conn.broken:
                conn.close()
            raise _error(err) from None

    def query(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement on this thread's connection."""
        psycopg = _psycopg()
        conn = self.conn()
        try:
            return conn.execute(sql, args).fetchall()
        except psycopg.Error as err:
            if conn.broken:
                conn.close()
            raise _error(err) from None

    # -- schema -----------------------------------------------------------------------

    def version(self) -> int:
        """The schema version in the database (0: no pool schema yet)."""
        rows = self.query(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = "
            "'os_meta'",
            (self.schema,),
        )
        if not rows[0][0]:
            return 0
        got = self.query("SELECT value FROM os_meta WHERE name = 'schema_version'")
        return int(got[0][0]) if got else 0

    def migrate(self) -> int:
        """Bring the schema to :data:`SCHEMA_VERSION` (creating it); returns it.

        Each step runs in one transaction with the version it reaches, so a
        crash mid-migration leaves the previous version. A database newer
        than this library raises StoreError.
        """
        with self.transaction() as conn:
            # One migrator at a time, whatever the replica.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            have = self.version()
            if have > SCHEMA_VERSION:
                msg = (
                    f"PostgreSQL schema {self.schema!r} is at version {have}; this "
                    f"omnistock reads up to {SCHEMA_VERSION}."
                )
                raise StoreError(msg)
            for step in range(have, SCHEMA_VERSION):
                conn.execute(MIGRATIONS[step])
                conn.execute(
                    "INSERT INTO os_meta VALUES ('schema_version', %s) ON CONFLICT "
                    "(name) DO UPDATE SET value = excluded.value",
                    (str(step + 1),),
                )
        return SCHEMA_VERSION

    def load(self, scenario: Scenario, network: CompiledNetwork) -> None:
        """Write ``scenario``'s nodes and stock into the (migrated, empty) schema.

        Raises StoreError when the schema already holds a pool: attach to it
        with ``StockPool.connect`` instead.
        """
        self.migrate()
        net = network
        base = scenario.model_copy(update={"stock": (), "orders": ()})
        sku_of = [str(s) for s in net.sku_ids]
        rows = []
        for s in range(net.n_skus):
            for row in range(int(net.stock_indptr[s]), int(net.stock_indptr[s + 1])):
                node = int(net.stock_node[row])
                rows.append(
                    (
                        str(net.node_ids[node]),
                        sku_of[s],
                        int(net.stock_on_hand[row]),
                        int(net.stock_reserved[row]),
                        int(net.stock_reserved[row]),
                        int(net.stock_safety[row]),
                        int(net.node_protect[node]),
                    )
                )
        with self.transaction() as conn:
            taken = conn.execute(
                "INSERT INTO os_meta VALUES ('scenario', %s) ON CONFLICT DO NOTHING "
                "RETURNING name",
                (base.model_dump_json(),),
            ).fetchall()
            if not taken:
                msg = (
                    f"PostgreSQL schema {self.schema!r} already holds a pool: attach "
                    "with StockPool.connect(dsn, schema=...)."
                )
                raise StoreError(msg)
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO os_node (idx, id, capacity, cap_left, protect) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [
                        (i, str(nid), int(cap), int(cap), int(prot))
                        for i, (nid, cap, prot) in enumerate(
                            zip(
                                net.node_ids,
                                net.node_capacity,
                                net.node_protect,
                                strict=True,
                            )
                        )
                    ],
                )
                # COPY: a network's rows (856,883 on "large") in one stream.
                with cur.copy(
                    "COPY os_row (node_id, sku, on_hand, reserved, held, safety, "
                    "protect) FROM STDIN"
                ) as copy:
                    for rec in rows:
                        copy.write_row(rec)
            if net.protection:  # contract v1.2
                self.put_table(conn, net.protection)

    def put_table(self, conn: Any, table: Sequence[tuple[str, str, str, int]]) -> int:
        """Replace the protection table (contract v1.2) in ``conn``'s transaction.

        Returns the table's new version (other replicas reload it on refresh).
        """
        got = conn.execute(
            "UPDATE os_meta SET value = (value::bigint + 1)::text "
            "WHERE name = 'protection' RETURNING value"
        ).fetchone()  # first: two replacements queue on this row
        conn.execute("DELETE FROM os_prot")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO os_prot VALUES (%s, %s, %s, %s, %s)",
                [(n, s, t, u, i) for i, (n, s, t, u) in enumerate(table)],
            )
        return int(got[0])

    def table(self) -> tuple[tuple[str, str, str, int], ...]:
        """The protection table in the database, in its order."""
        rows = self.query("SELECT node_id, sku, tier, units FROM os_prot ORDER BY pos")
        return tuple((str(n), str(s), str(t), int(u)) for n, s, t, u in rows)

    def base(self) -> str:
        """The stored scenario (nodes, rules; no stock) as JSON."""
        have = self.version()
        if have == 0:
            msg = (
                f"PostgreSQL schema {self.schema!r} holds no pool yet: load one with "
                "StockPool.from_scenario(scenario, store=PostgresStore(dsn))."
            )
            raise StoreError(msg)
        if have != SCHEMA_VERSION:
            msg = (
                f"PostgreSQL schema {self.schema!r} is at version {have}, "
                f"not {SCHEMA_VERSION}: run `omnistock db migrate DSN`."
            )
            raise StoreError(msg)
        got = self.query("SELECT value FROM os_meta WHERE name = 'scenario'")
        if not got:
            msg = f"PostgreSQL schema {self.schema!r} holds no pool yet."
            raise StoreError(msg)
        return str(got[0][0])

    def rows(self) -> list[tuple[Any, ...]]:
        """Every stock row and node as change rows (a full refresh).

        A ``'v'`` row carries the protection table's version.
        """
        return self.query(
            "SELECT 's', id, ver, on_hand, reserved, shipped, received, returned, "
            "unsellable, node_id, sku, NULL, NULL, held FROM os_row UNION ALL "
            "SELECT 'n', idx, ver, cap_left, NULL, NULL, NULL, NULL, NULL, id, NULL, "
            "NULL, NULL, NULL FROM os_node UNION ALL "
            "SELECT 'v', value::bigint, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
            "NULL, NULL, NULL, NULL FROM os_meta WHERE name = 'protection'"
        )

    def open_pool(self, scenario: Scenario, **options: Any) -> StockPool:
        """Load ``scenario`` into this (empty) schema; the pool on it (``clock``)."""
        from omnistock.pool.pgpool import PostgresPool

        return PostgresPool.open(self, scenario, **options)
