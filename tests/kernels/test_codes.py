"""Every kernel code pinned: one table (``_kernels.codes``), read the same everywhere."""

from __future__ import annotations

import pytest

from omnistock import Reason
from omnistock._kernels import codes
from omnistock.compiled import KIND_CODES, METHOD_CODES
from omnistock.model.network import METHODS, NODE_KINDS

REASONS = {
    "ELIGIBLE": 0,
    "CHANNEL": 1,
    "METHOD": 2,
    "DISTANCE": 3,
    "SAME_DAY_RADIUS": 4,
    "PROTECTION": 5,
    "CAPACITY": 6,
    "NO_STOCK": 7,
    "RATE_CARD": 8,  # contract v1.1
    "PICKUP_LOCKER": 9,
    "LOCKER_FULL": 10,
}
METHOD_NAMES = {"SHIP": 0, "PICKUP": 1, "SAME_DAY": 2}
KIND_NAMES = {"WAREHOUSE": 0, "STORE": 1, "LOCKER": 2}
COSTS = {
    "COST_PACKAGE": 0,
    "COST_DISTANCE": 1,
    "COST_HANDLING": 2,
    "COST_UNIT": 3,
    "COST_UNFILLED": 4,
}
POLICIES = {
    "POLICY_GREEDY": 0,
    "POLICY_PRIORITY": 1,
    "POLICY_NEAREST": 2,
    "POLICY_MOST_STOCK": 3,
}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        *REASONS.items(),
        *METHOD_NAMES.items(),
        *KIND_NAMES.items(),
        *COSTS.items(),
        *POLICIES.items(),
    ],
)
def test_code_is_pinned(name, code):
    """Tests that each code keeps its value (plans, frames and docs depend on it)."""
    assert getattr(codes, name) == code


def test_reasons_match_the_public_enum():
    """Tests that the kernels' reason codes are omnistock.Reason's, name for name."""
    assert {r.name: int(r) for r in Reason} == REASONS
    assert {name: getattr(codes, name) for name in REASONS} == REASONS


def test_method_and_kind_codes_follow_the_contract_order():
    """Tests that method and kind codes are positions in the contract's tuples."""
    assert {m: i for i, m in enumerate(METHODS)} == codes.METHOD_CODES
    assert {k: i for i, k in enumerate(NODE_KINDS)} == codes.KIND_CODES
    assert METHOD_CODES is codes.METHOD_CODES
    assert KIND_CODES is codes.KIND_CODES
    assert {n: codes.METHOD_CODES[n.lower()] for n in METHOD_NAMES} == METHOD_NAMES


def test_cost_components_are_indexed_by_their_codes():
    """Tests that COMPONENTS[COST_X] names component X."""
    for name, code in COSTS.items():
        assert codes.COMPONENTS[code] == name.removeprefix("COST_").lower()


def test_policy_codes_are_distinct():
    """Tests that no two policies share a code (a walk would run the wrong policy)."""
    assert len(set(POLICIES.values())) == len(POLICIES)


def test_every_code_is_exported():
    """Tests that the table exports exactly the names pinned here and its dicts."""
    pinned = {*REASONS, *METHOD_NAMES, *KIND_NAMES, *COSTS, *POLICIES}
    assert set(codes.__all__) == pinned | {
        "COMPONENTS",
        "KIND_CODES",
        "METHOD_CODES",
        "RATED_COMPONENTS",
    }
