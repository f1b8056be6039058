"""Parcel lockers for the sample networks (``samples.network(..., lockers=n)``)."""

from __future__ import annotations

import numpy as np

from omnistock.model.network import Node
from omnistock.model.scenario import Scenario
from omnistock.samples._places import cities

__all__ = ["LOCKER_PARCELS", "with_lockers"]

#: Parcels a sample locker takes: drawn uniformly in this range (inclusive).
LOCKER_PARCELS = (20, 60)
# Lockers draw from their own stream, so the network's own draws never move.
_STREAM = 15


def with_lockers(network: Scenario, n: int, seed: int) -> Scenario:
    """``network`` with ``n`` lockers near the biggest cities (S11).

    Locker ``k`` stands in the ``k mod 99``-th biggest city by population,
    jittered by about 3 km, so large cities get several once every city has one.
    Each offers exactly "pickup", holds no stock and takes 20 to 60 parcels.
    """
    if n == 0:
        return network
    rng = np.random.default_rng([seed, _STREAM])
    city = cities()
    biggest = np.argsort(-city.weight, kind="stable")
    at = biggest[np.arange(n) % biggest.size]
    lat = np.round(np.clip(city.lat[at] + rng.normal(0.0, 0.03, n), -90, 90), 4)
    lon = city.lon[at] + rng.normal(0.0, 0.03, n) / np.cos(np.radians(city.lat[at]))
    lon = np.round(np.clip(lon, -180, 180), 4)
    parcels = rng.integers(LOCKER_PARCELS[0], LOCKER_PARCELS[1] + 1, n)
    width = len(str(n))
    lockers = tuple(
        Node(
            id=f"LCK-{k + 1:0{width}d}",
            kind="locker",
            lat=float(lat[k]),
            lon=float(lon[k]),
            methods=("pickup",),
            capacity=int(parcels[k]),
        )
        for k in range(n)
    )
    parts = {
        name: getattr(network, name) for name in ("stock", "orders", "rules", "costs")
    }
    return Scenario.model_validate({"nodes": network.nodes + lockers, **parts})
