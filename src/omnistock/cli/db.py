"""The ``db`` subcommands: create or migrate a shared pool's PostgreSQL schema."""

from __future__ import annotations

import argparse

__all__ = ["add_db", "cmd_db"]


def cmd_db(args: argparse.Namespace) -> int:
    """``omnistock db init DSN`` / ``omnistock db migrate DSN`` (``--schema``)."""
    from omnistock.pool.pgstore import PostgresStore, StoreError

    store = PostgresStore(args.dsn, schema=args.schema)
    try:
        before = store.version()
        if args.action == "migrate" and before == 0:
            msg = (
                f"schema {args.schema!r} holds no pool schema: run `omnistock db init`."
            )
            raise StoreError(msg)
        after = store.migrate()
    finally:
        store.close()
    if before == after:
        print(f"schema {args.schema!r}: at version {after}, nothing to do.")
    else:
        print(f"schema {args.schema!r}: version {before} -> {after}.")
    return 0


def add_db(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``db init`` and ``db migrate`` to the command line."""
    text = "create (init) or upgrade (migrate) a shared pool's PostgreSQL schema"
    db = sub.add_parser(
        "db",
        help=text,
        description=text,
        epilog="example:\n  omnistock db init 'host=/run/postgresql dbname=shop'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    db.add_argument("action", choices=["init", "migrate"])
    db.add_argument("dsn", help="a libpq connection string (needs omnistock[postgres])")
    db.add_argument(
        "--schema", default="omnistock", help="the PostgreSQL schema (omnistock)"
    )
    db.set_defaults(func=cmd_db)
