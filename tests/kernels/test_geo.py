"""Great-circle km from unit vectors equals the haversine formula (S1)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnistock._kernels.geo import km_between, km_pairs, km_to_point, unit_vectors
from omnistock.check import haversine_km

lat = st.floats(-90, 90, allow_nan=False)
lon = st.floats(-180, 180, allow_nan=False)


@given(lat, lon, lat, lon)
def test_chord_form_equals_haversine(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    xyz = unit_vectors(np.array([lat1, lat2]), np.array([lon1, lon2]))
    expected = haversine_km(lat1, lon1, lat2, lon2)
    assert km_between(xyz[0], xyz[1]) == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_known_distance_paris_lyon() -> None:
    xyz = unit_vectors(np.array([48.8566, 45.7640]), np.array([2.3522, 4.8357]))
    assert km_between(xyz[0], xyz[1]) == pytest.approx(391.5, abs=0.5)


def test_antipodes_are_half_the_circumference() -> None:
    xyz = unit_vectors(np.array([0.0, 0.0]), np.array([0.0, 180.0]))
    assert km_between(xyz[0], xyz[1]) == pytest.approx(np.pi * 6371.0)


def test_vector_forms_agree_with_the_scalar_one() -> None:
    rng = np.random.default_rng(0)
    a = unit_vectors(rng.uniform(-80, 80, 20), rng.uniform(-180, 180, 20))
    b = unit_vectors(rng.uniform(-80, 80, 20), rng.uniform(-180, 180, 20))
    pairs = km_pairs(a, b)
    to_point = km_to_point(a, b[0])
    for i in range(20):
        assert pairs[i] == km_between(a[i], b[i])
        assert to_point[i] == km_between(a[i], b[0])
