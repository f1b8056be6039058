"""Node potentials of an optimal flow: every residual arc has a reduced cost >= 0."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from omnistock._kernels.flows import potentials


def _residual_ok(tails, heads, capacity, cost, flow, d):
    for u, v, cap, c, f in zip(tails, heads, capacity, cost, flow, strict=True):
        if f < cap and c + d[u] - d[v] < 0:
            return False
        if f > 0 and -c + d[v] - d[u] < 0:
            return False
    return True


@given(st.integers(0, 5), st.integers(0, 5), st.integers(1, 9), st.integers(1, 9))
def test_potentials_certify_the_cheaper_of_two_paths(supply, room, cheap, dear):
    """Two parallel arcs 0 -> 1: the optimal flow fills the cheaper arc first."""
    cheap, dear = min(cheap, dear), max(cheap, dear)
    tails = np.array([0, 0], dtype=np.int64)
    heads = np.array([1, 1], dtype=np.int64)
    capacity = np.array([room, 10], dtype=np.int64)
    cost = np.array([cheap, dear], dtype=np.int64)
    on_cheap = min(supply, room)
    flow = np.array([on_cheap, supply - on_cheap], dtype=np.int64)
    d, settled = potentials(tails, heads, capacity, cost, flow, 2)
    assert settled
    assert (d <= 0).all()
    assert _residual_ok(tails, heads, capacity, cost, flow, d)


def test_a_negative_cycle_never_settles():
    """Tests that a non-optimal flow (a cheaper unused arc) is reported unsettled."""
    tails = np.array([0, 1], dtype=np.int64)
    heads = np.array([1, 0], dtype=np.int64)
    capacity = np.array([5, 5], dtype=np.int64)
    cost = np.array([-3, 1], dtype=np.int64)
    flow = np.zeros(2, dtype=np.int64)
    _, settled = potentials(tails, heads, capacity, cost, flow, 2)
    assert not settled
