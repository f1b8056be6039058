"""Arrival hours of a simulated stream (moved from :mod:`.run`, which re-exports it)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from omnistock.exceptions import OmnistockError

__all__ = ["arrival_hours"]


def arrival_hours(
    arrivals: pl.DataFrame | Sequence[float] | np.ndarray, order_ids: Sequence[str]
) -> np.ndarray:
    """Hours since the start for each order, from a frame (order_id, arrival) or numbers.

    A datetime ``arrival`` counts from midnight of the first arrival's day.
    """
    if isinstance(arrivals, pl.DataFrame):
        frame = pl.DataFrame(
            {"order_id": list(order_ids)}, schema={"order_id": pl.String}
        ).join(
            arrivals.select("order_id", "arrival"),
            on="order_id",
            how="left",
            maintain_order="left",
        )
        if frame["arrival"].null_count():
            missing = frame.filter(pl.col("arrival").is_null())["order_id"][0]
            msg = f"arrivals: no arrival for order {missing!r}."
            raise OmnistockError(msg)
        col = frame["arrival"]
        if col.dtype.is_temporal():
            # Hours since midnight of the first arrival's day.
            midnight = col.dt.truncate("1d").min()
            micros = (col - midnight).dt.total_microseconds().to_numpy()
            return np.asarray(micros / 3.6e9, dtype=np.float64)
        return np.asarray(col.cast(pl.Float64).to_numpy(), dtype=np.float64)
    hours = np.asarray(arrivals, dtype=np.float64)
    if hours.shape[0] != len(order_ids):
        msg = f"arrivals: {hours.shape[0]} times for {len(order_ids)} orders."
        raise OmnistockError(msg)
    return hours
