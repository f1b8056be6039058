"""Contract v1.2: the protection table and the nested rule S4 v1.2 (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from omnistock import Scenario, solve
from omnistock.check import plan_violations
from omnistock.model.io import read_scenario, write_scenario_frames
from omnistock.solvers import available_solvers, get
from omnistock.testing import scenarios
from tests.milp_reference import reference_optimum

REL = 1e-6
#: Solvers that decide one order at a time (greedy, the peers, lookahead).
PER_ORDER = [n for n in available_solvers() if get(n).capabilities.per_order]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(a), abs(b))


def worked(protection: list[dict[str, Any]] | None = None, **rules: Any) -> Scenario:
    """docs/semantics.md's worked example: one store, 5 units, three tiers ask for 5."""
    where = {"lat": 48.86, "lon": 2.35}
    return Scenario.model_validate(
        {
            "nodes": [{"id": "S1", "kind": "store", "lat": 48.85, "lon": 2.35}],
            "stock": [{"node": "S1", "sku": "A", "on_hand": 5}],
            "orders": [
                {
                    "id": f"o{i}",
                    "tier": t,
                    "destination": where,
                    "lines": [{"sku": "A", "qty": 5}],
                }
                for i, t in enumerate(("standard", "gold", "vip"), 1)
            ],
            "rules": {"last_unit_protection": {"store": 1}, **rules},
            "protection": protection
            if protection is not None
            else [
                {"node": "S1", "sku": "A", "tier": "standard", "units": 3},
                {"node": "S1", "sku": "A", "tier": "gold", "units": 1},
            ],
        }
    )


def taken(plan: Any) -> dict[str, int]:
    return {r["order_id"]: r["qty"] for r in plan.allocations.iter_rows(named=True)}


def test_worked_example_nested_levels() -> None:
    # u: standard 3, gold 1, vip 0 (exempt, v1's rule). free = 5.
    # standard: takes of u >= 3 (standard) <= 5 - 3 = 2            -> standard 2
    # gold:     takes of u >= 1 (gold, standard) <= 5 - 1 = 4       -> gold 4 - 2 = 2
    # vip:      takes of u >= 0 (everyone) <= 5                      -> vip 5 - 4 = 1
    s = worked()
    plan = solve(s, solver="greedy")
    assert taken(plan) == {"o1": 2, "o2": 2, "o3": 1}
    assert plan_violations(plan, s) == []


def test_entry_without_stock_row_is_valid_and_has_no_effect() -> None:
    extra = [{"node": "S1", "sku": "NOT_STOCKED", "tier": "standard", "units": 9}]
    s = worked(protection=extra)
    plain = worked(protection=[])
    assert taken(solve(s, solver="greedy")) == taken(solve(plain, solver="greedy"))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [{"node": "NOPE", "sku": "A", "tier": "gold", "units": 1}],
            r"protection\[0\] \(node 'NOPE', sku 'A', tier 'gold'\): unknown node",
        ),
        (
            [{"node": "S1", "sku": "A", "tier": "gold", "units": 1}] * 2,
            r"protection\[1\] .*: duplicate \(node, sku, tier\) entry",
        ),
        (
            [{"node": "S1", "sku": "A", "tier": "gold", "units": -1}],
            r"protection \(node 'S1', sku 'A', tier 'gold'\).*units",
        ),
    ],
)
def test_bad_protection_is_refused_naming_the_entry(entries: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        worked(protection=entries)


def test_check_finds_a_nested_violation() -> None:
    s = worked()
    plan = solve(s.with_orders(s.orders[:2]), solver="greedy")  # o1 2, o2 2: fine
    assert plan_violations(plan, s.with_orders(s.orders[:2])) == []
    from tests.test_check import plan_of

    bad = plan_of(s, [("o1", "A", "S1", 3)])
    assert any(
        "S4 node 'S1', sku 'A': tiers protecting >= 3 (tier 'standard') take 3" in v
        for v in plan_violations(bad, s)
    )
    bad = plan_of(s, [("o1", "A", "S1", 2), ("o2", "A", "S1", 3)])
    assert any(
        "(tier 'gold') take 5 > max(0, free 5 - 1) = 4" in v
        for v in plan_violations(bad, s)
    )


def explicit_v1(scenario: Scenario) -> Scenario:
    """The same scenario with v1's rule written out as a v1.2 table, every row and tier."""
    rules, kinds = scenario.rules, {n.id: n.kind for n in scenario.nodes}
    tiers = sorted({o.tier for o in scenario.orders} | {"standard"})
    table = [
        {
            "node": r.node,
            "sku": r.sku,
            "tier": t,
            "units": 0 if t in rules.exempt_tiers else rules.protection(kinds[r.node]),
        }
        for r in scenario.stock
        for t in tiers
    ]
    return scenario.with_protection(table) if table else scenario


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_orders=5))
def test_v1_rule_written_as_a_table_gives_the_same_plans(scenario: Scenario) -> None:
    v12 = explicit_v1(scenario)
    for name in PER_ORDER:
        a, b = solve(scenario, solver=name), solve(v12, solver=name)
        assert plan_violations(b, v12) == []
        if get(name).capabilities.priced:
            # The look-ahead policy prices rows by an LP's duals, and the v1.2 LP has
            # the nested rows where v1's has one limit row: equal rules, other
            # prices, so its heuristic may route differently (found by hypothesis:
            # four orders on one last unit, v1 prices leave it unfilled).
            continue
        assert a.allocations.equals(b.allocations), name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_orders=5, protection=True))
def test_every_per_order_plan_passes_check_on_v12(scenario: Scenario) -> None:
    for name in PER_ORDER:
        plan = solve(scenario, solver=name)
        assert plan_violations(plan, scenario) == [], name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_orders=1, min_orders=1, max_skus=3, protection=True))
def test_greedy_exact_on_one_order_v12(scenario: Scenario) -> None:
    optimum = reference_optimum(scenario).objective
    assert _close(solve(scenario, solver="greedy").objective, optimum)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_orders=4, protection=True))
def test_reference_never_beats_itself_and_greedy_is_feasible(
    scenario: Scenario,
) -> None:
    # The MILP reference is a lower bound of every valid plan.
    optimum = reference_optimum(scenario).objective
    plan = solve(scenario, solver="greedy")
    assert plan.objective >= optimum - REL * max(1.0, abs(optimum))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_protection_frames_round_trip(tmp_path: Any, fmt: str) -> None:
    s = worked()
    folder = write_scenario_frames(s, tmp_path / "s", fmt=fmt)
    assert (folder / f"protection.{fmt}").exists()
    assert read_scenario(folder).protection == s.protection
    assert Scenario.model_validate_json(s.to_json()) == s


def test_v1_folder_has_no_protection_frame(tmp_path: Any) -> None:
    folder = write_scenario_frames(worked(protection=[]), tmp_path / "s")
    assert not (folder / "protection.parquet").exists()


def test_with_protection_takes_the_levels_table() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(
        {"node": ["S1"], "sku": ["A"], "tier": ["standard"], "units": [4]}
    )
    s = worked(protection=[]).with_protection(frame)
    assert [(e.tier, e.units) for e in s.protection] == [("standard", 4)]
    assert taken(solve(s, solver="greedy"))["o1"] == 1


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_orders=5, min_orders=1, protection=True))
def test_sourcer_decides_as_greedy_order_by_order_v12(scenario: Scenario) -> None:
    from omnistock import Sourcer

    sourcer = Sourcer(scenario)
    columns = ["order_id", "sku", "node_id", "qty"]
    rows = []
    for order in scenario.orders:
        decision = sourcer.source(order)
        sourcer.commit(decision)
        rows.extend(decision.allocations.select(columns).iter_rows())
    greedy = solve(scenario, solver="greedy").allocations
    assert sorted(rows) == sorted(greedy.select(columns).iter_rows())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_orders=5, protection=True))
def test_explain_usable_covers_what_greedy_took_v12(scenario: Scenario) -> None:
    plan = solve(scenario, solver="greedy")
    for order in scenario.orders:
        frame = plan.explain(order.id)
        for row in frame.filter(frame["chosen"]).iter_rows(named=True):
            assert row["reason"] == "eligible" and row["qty"] > 0


def test_explain_names_protection_for_the_tier_that_must_leave_units() -> None:
    s = worked()
    plan = solve(s, solver="greedy")
    # After o1 (standard, u=3) took 2 there is nothing left that standard may take.
    later = s.with_orders([*s.orders[:1], s.orders[0].model_copy(update={"id": "o4"})])
    frame = solve(later, solver="greedy").explain("o4")
    assert frame["reason"].to_list() == ["protection"]
    assert frame["usable"].to_list() == [[0]]
    assert frame["protected"].to_list() == [[3]]  # the tier's u names the reason
    assert plan.explain("o3")["usable"].to_list() == [[1]]
    assert plan.explain("o2")["protected"].to_list() == [[1]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_orders=5, protection=True))
def test_optimal_equals_the_independent_milp_on_v12(scenario: Scenario) -> None:
    plan = solve(scenario, solver="optimal")
    assert plan_violations(plan, scenario) == []
    assert _close(plan.objective, reference_optimum(scenario).objective)
    assert plan.bound is None or plan.bound <= plan.objective + REL


def test_relax_gives_a_dual_per_binding_nested_row() -> None:
    from omnistock import relax

    s = worked()
    r = relax(s)
    kinds = set(r.duals["kind"].to_list())
    assert "protected" not in kinds
    assert {"protected>=1", "protected>=3"} <= kinds
    assert _close(r.bound, solve(s, solver="optimal").objective)  # LP integral here
    # Standard alone wants 5 and may take 5 - 3 = 2: one unit more on the row
    # "tiers protecting >= 3" serves one more unit, the others stay 0.
    alone = s.with_orders(s.orders[:1])
    duals = dict(relax(alone).duals.select("kind", "dual").iter_rows())
    assert duals["stock"] == 0
    # One more unit served saves its unfilled cost (1000) less its share of the
    # LP's fractional package and distance cost (~1).
    assert 990.0 < duals["protected>=3"] <= 1000.0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_orders=4, protection=True))
def test_relax_bound_is_the_reference_lp_on_v12(scenario: Scenario) -> None:
    from omnistock import relax

    bound = relax(scenario).bound
    assert bound <= reference_optimum(scenario).objective + 1e-6 * max(1.0, abs(bound))


def test_simulate_reports_tiers_and_takes_each_protection_mode() -> None:
    from omnistock import samples, simulate
    from omnistock.exceptions import OmnistockError

    net = samples.network("small", seed=1)
    orders = samples.orders(net, 80, seed=2)
    plain = simulate(net, orders, "greedy")
    fixed = simulate(net, orders, "greedy", protection="fixed")
    assert plain.decisions.equals(fixed.decisions)  # v1 data: fixed is the network's
    assert plain.tiers is not None
    tiers = {r["tier"]: r for r in plain.tiers.iter_rows(named=True)}
    served = plain.orders.group_by("tier").agg(pl_sum("filled")).rows()
    assert {t: tiers[t]["units_served"] for t, _ in served} == dict(served)
    vip = tiers["vip"]
    assert vip["value_served"] == vip["units_served"] * 2.0 * net.costs.unfilled
    emsr = simulate(net, orders, "greedy", protection="emsr_b", protection_every=12.0)
    assert (
        emsr.tiers is not None
        and emsr.tiers["units"].sum() == plain.tiers["units"].sum()
    )
    with pytest.raises(OmnistockError, match="protection must be one of"):
        simulate(net, orders, "greedy", protection="always")


def pl_sum(column: str) -> Any:
    import polars as pl

    return pl.col(column).sum()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_orders=6, min_orders=1, protection=True))
def test_a_simulated_stream_obeys_the_nested_rule(scenario: Scenario) -> None:
    from omnistock import simulate

    sim = simulate(scenario, scenario.orders, "greedy")
    rows = [
        (r["order_id"], r["sku"], r["node_id"], r["qty"])
        for r in sim.decisions.iter_rows(named=True)
        if r["node_id"] is not None
    ]
    from tests.test_check import plan_of

    assert plan_violations(plan_of(scenario, rows), scenario) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_orders=5, min_orders=1, protection=True))
def test_replan_keeps_the_nested_rule(scenario: Scenario) -> None:
    from omnistock import replan

    plan = solve(scenario, solver="greedy")
    frozen = [scenario.orders[0].id]
    for solver in ("greedy", "optimal"):
        again = replan(scenario, plan, frozen=frozen, solver=solver)
        assert plan_violations(again.plan, scenario) == [], solver
