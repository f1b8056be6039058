"""The transportation flow of a fixed node subset against a linear program."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from omnistock._kernels.transport import allocate
from tests import reference

problems = st.integers(1, 4).flatmap(
    lambda m: st.tuples(
        st.lists(
            st.lists(st.integers(0, 4), min_size=3, max_size=3), min_size=m, max_size=m
        ),
        st.lists(st.integers(0, 6), min_size=m, max_size=m),
        st.lists(st.integers(1, 5), min_size=3, max_size=3),
    )
)


def _max_units(use, cap, qty):
    """Most units the nodes can give the lines: the reference LP with unit cost 0.

    At unit cost 0 and unfilled cost 1 the cheapest cost is the units left over.
    """
    m = use.shape[0]
    left_over = reference._subset_cost([0.0] * m, use, list(cap), list(qty), 1.0, False)
    return int(qty.sum()) - round(left_over)


@given(problems)
def test_allocate_gives_the_most_units_within_every_limit(data):
    """Tests that the flow is feasible and as large as the LP's maximum."""
    use = np.array(data[0], dtype=np.int64)
    cap = np.array(data[1], dtype=np.int64)
    qty = np.array(data[2], dtype=np.int64)
    sel = np.arange(use.shape[0], dtype=np.int64)
    units = allocate(sel, use, cap, qty)
    assert (units >= 0).all()
    assert (units <= use).all()
    assert (units.sum(axis=1) <= cap).all()
    assert (units.sum(axis=0) <= qty).all()
    assert int(units.sum()) == _max_units(use, cap, qty)
