"""Kernel records from a few hand-written arrays (the rest defaulted), for kernel tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from omnistock._kernels.records import Request, network_record, state_record
from omnistock.compiled.state import StockState


def network(n_nodes: int, **arrays: Any) -> Any:
    """A NetworkRecord of ``n_nodes`` nodes; fields not given are neutral."""
    values: dict[str, Any] = {
        "node_methods": np.full(n_nodes, 0b111, dtype=np.uint8),
        "node_all_channels": np.ones(n_nodes, dtype=np.bool_),
        "node_channel_ok": np.zeros((n_nodes, 0), dtype=np.bool_),
        "node_xyz": np.tile([1.0, 0.0, 0.0], (n_nodes, 1)),
        "node_handling": np.zeros(n_nodes),
        "node_unit_cost": np.zeros(n_nodes),
        "node_priority": np.zeros(n_nodes, dtype=np.int64),
        "stock_indptr": np.zeros(1, dtype=np.int64),
        "stock_node": np.zeros(0, dtype=np.int64),
        "stock_level": np.zeros((0, 0), dtype=np.int64),  # v1: no tier classes
        "max_distance_km": np.inf,
        "same_day_radius_km": 50.0,
        "package": 0.0,
        "per_km": 0.0,
        "unfilled": 1.0,
        # contract v1.1: no rate card
        "rated": False,
        "unit_per_km": 0.0,
        "band_method": np.zeros(0, dtype=np.int64),
        "band_max_km": np.zeros(0),
        "band_package": np.zeros(0),
        "band_unit": np.zeros(0),
        "band_per_kg": np.zeros(0),
        "node_kind": np.zeros(n_nodes, dtype=np.int8),
    }
    values.update(arrays)
    return network_record(SimpleNamespace(**values))  # type: ignore[arg-type]


def state(free: Any, limit: Any = None, capacity: Any = None, n_nodes: int = 0) -> Any:
    """A StateRecord (limit defaults to free, capacity to 10**9 per node)."""
    free = np.asarray(free, dtype=np.int64)
    limit = free.copy() if limit is None else limit
    capacity = np.full(n_nodes, 10**9, dtype=np.int64) if capacity is None else capacity
    return state_record(StockState(free, limit, capacity))


def request(line_sku: Any, line_qty: Any, unit_cost: Any, **fields: Any) -> Request:
    """A Request for a ship order of the given lines; other fields as given."""
    values: dict[str, Any] = {
        "channel": 0,
        "method": 0,
        "pickup": -1,
        "dest_xyz": np.array([1.0, 0.0, 0.0]),
        "exempt": False,
        "penalty": 1.0,
        "split_limit": 10**6,
        "all_or_nothing": False,
        "charge": 0.0,  # contract v1.1: no unfilled-order charge
    }
    values.update(fields)
    return Request(
        line_sku=np.asarray(line_sku, dtype=np.int64),
        line_qty=np.asarray(line_qty, dtype=np.int64),
        unit_cost=np.asarray(unit_cost, dtype=np.float64),
        line_weight=np.zeros(len(line_sku)),
        **values,
    )
