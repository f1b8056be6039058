"""The package data of the samples: real US cities and fulfilment centres (SOURCE.md)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

__all__ = ["Places", "cities", "fulfillment_centres", "spread_centres"]


@dataclass(frozen=True)
class Places:
    """Named points with a weight (population; 1.0 for fulfilment centres)."""

    names: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    weight: np.ndarray


def _read_places(filename: str, name_field: str, weight_field: str | None) -> Places:
    text = resources.files("omnistock.samples").joinpath(filename).read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    arrays = [
        np.array([float(r[f]) for r in rows]) if f else np.ones(len(rows))
        for f in ("lat", "lon", weight_field)
    ]
    for arr in arrays:
        arr.flags.writeable = False
    return Places(tuple(r[name_field] for r in rows), *arrays)


@cache
def cities() -> Places:
    """The 99 US cities of ``us_cities.csv``, weighted by population."""
    return _read_places("us_cities.csv", "city", "population")


@cache
def fulfillment_centres() -> Places:
    """The 10 real US fulfilment centres of ``us_fulfillment_centers.csv``."""
    return _read_places("us_fulfillment_centers.csv", "code", None)


def _xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack(
        (np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)), axis=1
    )


def spread_centres(k: int) -> list[int]:
    """Indices of ``k`` fulfilment centres spread over the country, in file order.

    Farthest-first: start at the centre nearest the population centroid, then add
    the centre farthest from those chosen. Deterministic (no seed).
    """
    fc, city = fulfillment_centres(), cities()
    centroid = (_xyz(city.lat, city.lon) * city.weight[:, None]).sum(axis=0)
    xyz = _xyz(fc.lat, fc.lon)
    chosen = [int(np.argmax(xyz @ centroid))]
    gap = 1.0 - xyz @ xyz[chosen[0]]
    while len(chosen) < min(k, len(fc.names)):
        chosen.append(int(np.argmax(gap)))
        gap = np.minimum(gap, 1.0 - xyz @ xyz[chosen[-1]])
    return sorted(chosen)
