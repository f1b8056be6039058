"""Tabular input and output through polars: frames, parquet and CSV.

The frame schemas below are the one definition of column names and dtypes. A
scenario on disk is either one JSON file (contract v1) or a folder holding
``nodes``, ``stock``, ``orders`` and ``lines`` as ``.parquet`` or ``.csv`` files
plus an optional ``settings.json`` with ``rules`` and ``costs``. In CSV files the
list columns ``methods`` and ``channels`` are ``|``-separated strings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from omnistock.exceptions import InvalidArgument, ScenarioError
from omnistock.model.rules import Costs, Rules
from omnistock.model.scenario import Scenario

__all__ = [
    "LINE_SCHEMA",
    "NODE_SCHEMA",
    "ORDER_SCHEMA",
    "SKU_SCHEMA",
    "STOCK_SCHEMA",
    "as_polars",
    "orders_from_frames",
    "protection_from_frame",
    "read_scenario",
    "scenario_from_frames",
    "scenario_to_frames",
    "write_scenario_frames",
]

NODE_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "kind": pl.String,
    "lat": pl.Float64,
    "lon": pl.Float64,
    "methods": pl.List(pl.String),
    "channels": pl.List(pl.String),
    "capacity": pl.Int64,
    "handling_cost": pl.Float64,
    "unit_cost": pl.Float64,
    "priority": pl.Int64,
}
STOCK_SCHEMA: dict[str, Any] = {
    "node": pl.String,
    "sku": pl.String,
    "on_hand": pl.Int64,
    "reserved": pl.Int64,
    "safety_stock": pl.Int64,
}
ORDER_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "channel": pl.String,
    "method": pl.String,
    "tier": pl.String,
    "dest_lat": pl.Float64,
    "dest_lon": pl.Float64,
    "pickup_node": pl.String,
    "ship_complete": pl.Boolean,
    "allow_partial": pl.Boolean,
    "max_splits": pl.Int64,
    # contract v1.1 (nullable: the scenario's costs)
    "unfilled_unit_cost": pl.Float64,
    "unfilled_order_cost": pl.Float64,
}
#: Contract v1.1: SKU weights (an optional ``skus`` frame).
SKU_SCHEMA: dict[str, Any] = {"sku": pl.String, "weight_kg": pl.Float64}
LINE_SCHEMA: dict[str, Any] = {"order_id": pl.String, "sku": pl.String, "qty": pl.Int64}
#: Contract v1.2's optional protection table (``protection.parquet`` / ``.csv``).
PROTECTION_SCHEMA: dict[str, Any] = {
    "node": pl.String,
    "sku": pl.String,
    "tier": pl.String,
    "units": pl.Int64,
}

_REQUIRED = {
    "nodes": ("id", "kind", "lat", "lon"),
    "stock": ("node", "sku", "on_hand"),
    "orders": ("id",),
    "lines": ("order_id", "sku", "qty"),
    "protection": ("node", "sku", "tier", "units"),
}
_LIST_COLUMNS = ("methods", "channels")
_OVERRIDE_COLUMNS = ("unfilled_unit_cost", "unfilled_order_cost")


def as_polars(name: str, frame: Any) -> pl.DataFrame:
    """``frame`` as a polars DataFrame: polars, pandas or pyarrow tables are taken.

    Anything else raises :class:`~omnistock.exceptions.ScenarioError` naming the
    frame and the type given.
    """
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    module = type(frame).__module__.split(".")[0]
    if module == "pandas":
        return pl.from_pandas(frame)
    if module == "pyarrow":
        converted = pl.from_arrow(frame)
        if isinstance(converted, pl.DataFrame):
            return converted
    msg = (
        f"{name} frame: expected a polars, pandas or pyarrow table. "
        f"Got a {type(frame).__module__}.{type(frame).__name__}."
    )
    raise ScenarioError(msg)


def _require(name: str, frame: pl.DataFrame) -> None:
    missing = [c for c in _REQUIRED[name] if c not in frame.columns]
    if missing:
        msg = f"{name} frame: missing column(s) {missing}. Got columns {frame.columns}."
        raise ScenarioError(msg)


def _split_lists(frame: pl.DataFrame) -> pl.DataFrame:
    """Turn ``|``-separated string columns (CSV) into list columns."""
    fixes = [
        pl.col(c)
        .str.split("|")
        .list.eval(pl.element().filter(pl.element() != ""))
        .alias(c)
        for c in _LIST_COLUMNS
        if c in frame.columns and frame.schema[c] == pl.String
    ]
    return frame.with_columns(fixes) if fixes else frame


def _drop_nulls(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Let absent (null) optional cells take the contract's defaults."""
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


def scenario_from_frames(
    *,
    nodes: Any,
    stock: Any,
    orders: Any,
    lines: Any,
    rules: Rules | dict[str, Any] | None = None,
    costs: Costs | dict[str, Any] | None = None,
    protection: Any = None,
    skus: Any = None,
) -> Scenario:
    """Build a validated scenario from frames (columns: ``*_SCHEMA``; optional ones may be absent).

    Frames may be polars, pandas or pyarrow tables; orders and lines are read by
    :func:`orders_from_frames`, the optional ``protection`` table (v1.2) by
    :func:`protection_from_frame`. ``skus`` (contract v1.1, optional): SKU weights.
    """
    nodes, stock = as_polars("nodes", nodes), as_polars("stock", stock)
    for name, frame in (("nodes", nodes), ("stock", stock)):
        _require(name, frame)
    nodes = _split_lists(nodes)
    data: dict[str, Any] = {
        "nodes": _drop_nulls(nodes.to_dicts()),
        "stock": _drop_nulls(stock.to_dicts()),
        "orders": orders_from_frames(orders, lines),
    }
    if rules is not None:
        data["rules"] = rules
    if costs is not None:
        data["costs"] = costs
    if protection is not None:
        data["protection"] = protection_from_frame(protection)
    if skus is not None:
        data["skus"] = _drop_nulls(as_polars("skus", skus).to_dicts())
    return Scenario.model_validate(data)


def protection_from_frame(frame: Any) -> list[Any]:
    """Raw protection entries from a ``node, sku, tier, units`` table (v1.2).

    A list or tuple (entries or their dicts) is taken as it is; a table may be
    polars, pandas or pyarrow.
    """
    if isinstance(frame, list | tuple):
        return list(frame)
    table = as_polars("protection", frame)
    _require("protection", table)
    return table.select(_REQUIRED["protection"]).to_dicts()


def orders_from_frames(orders: Any, lines: Any) -> list[dict[str, Any]]:
    """Raw orders (JSON-like dicts) from an orders frame and a lines frame.

    Lines are grouped into their orders with polars; an order's destination comes
    from ``dest_lat`` / ``dest_lon``. Lines naming an order that is not in ``orders``
    are an error. Frames may be polars, pandas or pyarrow tables.
    """
    orders, lines = as_polars("orders", orders), as_polars("lines", lines)
    for name, frame in (("orders", orders), ("lines", lines)):
        _require(name, frame)
    unknown = lines.join(
        orders.select(pl.col("id").alias("order_id")), on="order_id", how="anti"
    )
    if unknown.height:
        msg = (
            f"lines frame: order_id {unknown['order_id'][0]!r} is not in the orders frame "
            f"({unknown.height} line(s) affected)."
        )
        raise ScenarioError(msg)
    grouped = lines.group_by("order_id", maintain_order=True).agg(
        pl.struct("sku", "qty").alias("lines")
    )
    joined = orders.join(
        grouped.rename({"order_id": "id"}), on="id", how="left", maintain_order="left"
    )
    has_dest = "dest_lat" in joined.columns and "dest_lon" in joined.columns
    if has_dest:
        joined = joined.with_columns(
            pl.when(pl.col("dest_lat").is_not_null() & pl.col("dest_lon").is_not_null())
            .then(pl.struct(lat=pl.col("dest_lat"), lon=pl.col("dest_lon")))
            .otherwise(None)
            .alias("destination")
        ).drop("dest_lat", "dest_lon")
    order_rows = _drop_nulls(joined.to_dicts())
    for row in order_rows:
        row.setdefault("lines", [])
    return order_rows


def scenario_to_frames(scenario: Scenario) -> dict[str, pl.DataFrame]:
    """The scenario as the four frames of :func:`scenario_from_frames`."""
    nodes = (
        pl.DataFrame(
            [n.model_dump() for n in scenario.nodes], schema=NODE_SCHEMA, orient="row"
        )
        if scenario.nodes
        else pl.DataFrame(schema=NODE_SCHEMA)
    )
    stock = (
        pl.DataFrame(
            [r.model_dump() for r in scenario.stock], schema=STOCK_SCHEMA, orient="row"
        )
        if scenario.stock
        else pl.DataFrame(schema=STOCK_SCHEMA)
    )
    order_rows = [
        {
            "id": o.id,
            "channel": o.channel,
            "method": o.method,
            "tier": o.tier,
            "dest_lat": o.destination.lat if o.destination else None,
            "dest_lon": o.destination.lon if o.destination else None,
            "pickup_node": o.pickup_node,
            "ship_complete": o.ship_complete,
            "allow_partial": o.allow_partial,
            "max_splits": o.max_splits,
            "unfilled_unit_cost": o.unfilled_unit_cost,
            "unfilled_order_cost": o.unfilled_order_cost,
        }
        for o in scenario.orders
    ]
    orders = pl.DataFrame(order_rows, schema=ORDER_SCHEMA)
    # Contract v1.1's columns only when used: a v1 scenario's frames stay v1's.
    orders = orders.drop(
        c
        for c in _OVERRIDE_COLUMNS
        if orders.height == 0 or orders[c].null_count() == orders.height
    )
    lines = pl.DataFrame(
        [
            {"order_id": o.id, "sku": ln.sku, "qty": ln.qty}
            for o in scenario.orders
            for ln in o.lines
        ],
        schema=LINE_SCHEMA,
    )
    frames = {"nodes": nodes, "stock": stock, "orders": orders, "lines": lines}
    if scenario.protection:  # v1.2 only: a v1 scenario keeps its four frames
        frames["protection"] = pl.DataFrame(
            [e.model_dump() for e in scenario.protection],
            schema=PROTECTION_SCHEMA,
            orient="row",
        )
    if scenario.skus:  # contract v1.1; a v1 scenario's folder is unchanged
        frames["skus"] = pl.DataFrame(
            [s.model_dump() for s in scenario.skus], schema=SKU_SCHEMA, orient="row"
        )
    return frames


def write_scenario_frames(
    scenario: Scenario, folder: str | Path, *, fmt: str = "parquet"
) -> Path:
    """Write the scenario as a folder of frames (``fmt``: parquet or csv)."""
    if fmt not in ("parquet", "csv"):
        detail = f"fmt must be 'parquet' or 'csv'. Got {fmt!r}."
        raise InvalidArgument(
            function="write_scenario_frames", argument="fmt", detail=detail
        )
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in scenario_to_frames(scenario).items():
        if fmt == "csv":
            frame = frame.with_columns(
                pl.col(c).list.join("|") for c in _LIST_COLUMNS if c in frame.columns
            )
            frame.write_csv(out / f"{name}.csv")
        else:
            frame.write_parquet(out / f"{name}.parquet")
    settings = {
        "rules": scenario.rules.model_dump(mode="json"),
        "costs": scenario.costs.model_dump(mode="json"),
    }
    (out / "settings.json").write_text(json.dumps(settings, indent=1))
    return out


def _read_frame(folder: Path, name: str) -> pl.DataFrame:
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    try:
        if parquet.exists():
            return pl.read_parquet(parquet)
        if csv.exists():
            overrides = {
                k: v
                for k, v in {
                    **NODE_SCHEMA,
                    **STOCK_SCHEMA,
                    **ORDER_SCHEMA,
                    **LINE_SCHEMA,
                    **PROTECTION_SCHEMA,
                    **SKU_SCHEMA,
                }.items()
                if v != pl.List(pl.String)
            }
            return pl.read_csv(csv, schema_overrides=overrides)
    except (pl.exceptions.PolarsError, OSError) as err:
        # polars' messages run over several lines of hints: keep the first,
        # which says what and where (e.g. "could not parse `2.5` as dtype i64
        # at column 'qty'"), and name the file.
        path = parquet if parquet.exists() else csv
        first = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
        msg = f"cannot read {str(path)!r}: {first.rstrip('.')}."
        raise ScenarioError(msg) from err
    msg = f"scenario folder {str(folder)!r}: no {name}.parquet or {name}.csv."
    raise ScenarioError(msg)


def _read_settings(folder: Path) -> dict[str, Any]:
    """``settings.json`` of a scenario folder: an object with ``rules`` and ``costs``."""
    path = folder / "settings.json"
    if not path.exists():
        return {}
    try:
        settings = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:  # JSONDecodeError, UnicodeDecodeError
        msg = f"cannot read {str(path)!r}: {err}."
        raise ScenarioError(msg) from err
    if not isinstance(settings, dict) or not set(settings) <= {"rules", "costs"}:
        keys = sorted(settings) if isinstance(settings, dict) else type(settings)
        msg = (
            f"{str(path)!r} must be an object with optional keys 'rules' and "
            f"'costs'. Got {keys}."
        )
        raise ScenarioError(msg)
    parts: dict[str, Any] = {}
    for key, model in (("rules", Rules), ("costs", Costs)):
        if key in settings:
            try:
                parts[key] = model.model_validate(settings[key])
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(p) for p in (key, *first["loc"]))
                text = str(first["msg"]).removeprefix("Value error, ").rstrip(".")
                msg = f"{str(path)!r} is not valid: {where}: {text}."
                raise ScenarioError(msg) from err
    return parts


def read_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a JSON file or a folder of frames."""
    p = Path(path)
    if not p.exists():
        msg = f"scenario path {str(p)!r} does not exist."
        raise ScenarioError(msg)
    if p.is_dir():
        settings = _read_settings(p)
        return scenario_from_frames(
            nodes=_read_frame(p, "nodes"),
            stock=_read_frame(p, "stock"),
            orders=_read_frame(p, "orders"),
            lines=_read_frame(p, "lines"),
            rules=settings.get("rules"),
            costs=settings.get("costs"),
            protection=(
                _read_frame(p, "protection")
                if any((p / f"protection.{ext}").exists() for ext in ("parquet", "csv"))
                else None
            ),
            skus=_read_frame(p, "skus") if _has_frame(p, "skus") else None,
        )
    return Scenario.from_json(p)


def _has_frame(folder: Path, name: str) -> bool:
    return (folder / f"{name}.parquet").exists() or (folder / f"{name}.csv").exists()
