"""Components found without storing candidates equal those of the whole candidates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from omnistock import samples
from omnistock.compiled import CompiledScenario
from omnistock.solvers.optimal.candidates import (
    candidates,
    component_profile,
    components,
)
from omnistock.testing import scenarios


def _whole(compiled: CompiledScenario) -> tuple[np.ndarray, np.ndarray]:
    cand = candidates(compiled)
    label = components(compiled, cand)
    n_comp = int(label.max()) + 1 if label.size else 0
    size = np.bincount(label[compiled.orders.line_order[cand.line]], minlength=n_comp)
    return label, size


@given(scenarios(max_nodes=4, max_orders=6))
def test_profile_equals_components_of_the_candidates(scenario):
    """Tests labels and candidate counts (ship-complete packages dropped alike)."""
    compiled = scenario.compiled()
    label, size = component_profile(compiled)
    want_label, want_size = _whole(compiled)
    assert label.tolist() == want_label.tolist()
    assert size.tolist() == want_size.tolist()


@pytest.mark.parametrize("seed", [3, 4])
def test_profile_on_a_sample_batch(seed):
    """Tests a contended batch with several components."""
    network = samples.network("small", seed=0)
    compiled = network.with_orders(samples.orders(network, 400, seed=seed)).compiled()
    label, size = component_profile(compiled)
    want_label, want_size = _whole(compiled)
    assert int(want_label.max()) > 0  # more than one component: the test can fail
    assert (want_size > 0).all()
    assert label.tolist() == want_label.tolist()
    assert size.tolist() == want_size.tolist()


@given(scenarios(max_nodes=4, max_orders=6, max_lockers=2))
def test_profile_links_the_orders_of_a_limited_locker(scenario):
    """Tests S11: orders at one capacity-limited locker share a component in both."""
    compiled = scenario.compiled()
    label, size = component_profile(compiled)
    want_label, want_size = _whole(compiled)
    assert label.tolist() == want_label.tolist()
    assert size.tolist() == want_size.tolist()
