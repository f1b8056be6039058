"""Great-circle distances from precomputed unit vectors.

The haversine distance equals ``2 R asin(|a - b| / 2)`` for unit vectors ``a`` and
``b`` (the chord form), which is as accurate as the haversine formula at every
range and needs no trigonometry per pair beyond one ``asin``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

EARTH_RADIUS_KM = 6371.0


def unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Unit vectors ``float64[n, 3]`` of points given in degrees."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    cos_lat = np.cos(lat)
    return np.stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)), axis=1)


@njit(cache=True, nogil=True, inline="always")
def km_between(a: np.ndarray, b: np.ndarray) -> float:
    """Great-circle km between two unit vectors ``float64[3]``."""
    dx = a[0] - b[0]
    dy = a[1] - b[1]
    dz = a[2] - b[2]
    half_chord = 0.5 * np.sqrt(dx * dx + dy * dy + dz * dz)
    if half_chord > 1.0:
        half_chord = 1.0
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(half_chord)


@njit(cache=True, nogil=True)
def km_to_point(node_xyz: np.ndarray, point_xyz: np.ndarray) -> np.ndarray:
    """Km from every node ``float64[n, 3]`` to one point ``float64[3]``."""
    n = node_xyz.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = km_between(node_xyz[i], point_xyz)
    return out


@njit(cache=True, nogil=True)
def km_pairs(a_xyz: np.ndarray, b_xyz: np.ndarray) -> np.ndarray:
    """Km between rows ``a_xyz[i]`` and ``b_xyz[i]`` (both ``float64[n, 3]``)."""
    n = a_xyz.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = km_between(a_xyz[i], b_xyz[i])
    return out
