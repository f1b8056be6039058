"""The named benchmark cases: one source for ids, networks, batch sizes and seeds.

Benchmark files parametrize over these ids (``pytest.mark.parametrize("case",
["large-100k"])``) and get the scenario from the ``case_scenario`` fixture in
``conftest.py``, so every file times the same, seeded inputs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """A sample network with a batch of seeded orders.

    ``costs`` is the ``samples.network`` costs: "flat" (contract v1) or "carrier"
    (v1.1 rate cards; the ids of those cases end in "-carrier").
    """

    id: str
    network: str
    n_orders: int
    seed: int = 0
    costs: str = "flat"


CASES: dict[str, Case] = {
    c.id: c
    for c in (
        Case("small-1k", "small", 1_000),
        Case("us-10k", "us", 10_000),
        Case("medium-10k", "medium", 10_000),
        Case("medium-100k", "medium", 100_000),
        Case("large-10k", "large", 10_000),
        Case("large-50k", "large", 50_000),
        Case("large-100k", "large", 100_000),
        Case("large-1m", "large", 1_000_000),
        Case("small-1k-carrier", "small", 1_000, costs="carrier"),
        Case("medium-100k-carrier", "medium", 100_000, costs="carrier"),
        Case("large-10k-carrier", "large", 10_000, costs="carrier"),
        Case("large-100k-carrier", "large", 100_000, costs="carrier"),
    )
}


def case(case_id: str) -> Case:
    """The case named ``case_id``; the error lists the valid names."""
    try:
        return CASES[case_id]
    except KeyError:
        msg = f"case must be one of {', '.join(CASES)}. Got {case_id!r}."
        raise KeyError(msg) from None
