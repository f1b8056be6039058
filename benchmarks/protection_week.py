"""A week of "medium" with scarce stock: no protection, the fixed last unit, EMSR-b.

Run from the repository root (docs/protection.md shows the figures and the machine)::

    PYTHONPATH=$PWD/src python benchmarks/protection_week.py --days 7 --per-day 2000

The network's stock is cut to ``--stock`` of itself (default 30 %, rounded down;
reserved and safety units clipped to what is left) and never refilled, so the week
runs short. The stream is ``samples.orders`` (about 8 % VIP orders, tier weight 2)
arriving by ``samples.orders_frame``; the forecast for EMSR-b is an independent week
of draws (seed + 1000, never the stream). The policy is ``greedy``. Arms:

- none: ``rules.last_unit_protection = {}``, no table;
- fixed: v1's rule, stores keep their last unit from non-VIP orders;
- emsr_b: ``simulate(protection="emsr_b", protection_every=24)``, a table per day
  computed by ``omnistock.protection.levels`` from the forecast.
"""

from __future__ import annotations

import argparse
import time

import polars as pl

from omnistock import samples, simulate
from omnistock.model.scenario import Scenario


def scarce(network: Scenario, share: float) -> Scenario:
    """The network with every row's on_hand cut to ``share`` (reserved clipped)."""
    rows = []
    for r in network.stock:
        on_hand = int(r.on_hand * share)
        reserved = min(r.reserved, on_hand)
        rows.append(r.model_copy(update={"on_hand": on_hand, "reserved": reserved}))
    return network.model_copy(update={"stock": tuple(rows)})


def hours_of(frame: pl.DataFrame) -> list[float]:
    """Hours since midnight of the first day, per row of an orders_frame."""
    midnight = frame["arrival"].dt.truncate("1d").min()
    return ((frame["arrival"] - midnight).dt.total_microseconds() / 3.6e9).to_list()


def main() -> None:
    """Run the three arms and print one markdown row each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--network", default="medium")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--per-day", type=int, default=2000)
    parser.add_argument("--stock", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    base = scarce(samples.network(args.network, seed=args.seed), args.stock)
    n = args.days * args.per_day
    stream = samples.orders(base, n, seed=args.seed + 1)
    arrivals = samples.orders_frame(base, n, seed=args.seed + 1, days=float(args.days))
    fc = samples.orders(base, n, seed=args.seed + 1000)
    fc_frame = samples.orders_frame(
        base, n, seed=args.seed + 1000, days=float(args.days)
    )
    forecast = (fc, hours_of(fc_frame))
    unprotected = base.model_copy(
        update={"rules": base.rules.model_copy(update={"last_unit_protection": {}})}
    )
    arms = {
        "none": (unprotected, {}),
        "fixed": (base, {"protection": "fixed"}),
        "emsr_b": (
            base,
            {"protection": "emsr_b", "protection_every": 24.0, "forecast": forecast},
        ),
    }
    print(
        "| protection | objective | VIP fill | standard fill | value served | "
        "VIP value | standard value | run s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (network, extra) in arms.items():
        began = time.perf_counter()
        sim = simulate(network, stream, "greedy", arrivals=arrivals, **extra)  # type: ignore[arg-type]
        took = time.perf_counter() - began
        assert sim.tiers is not None
        tiers = {r["tier"]: r for r in sim.tiers.iter_rows(named=True)}
        vip, std = tiers.get("vip", {}), tiers.get("standard", {})
        print(
            f"| {name} | {sim.kpis['objective']:,.0f} | {vip.get('fill_rate', 0):.2%} "
            f"| {std.get('fill_rate', 0):.2%} | {sim.tiers['value_served'].sum():,.0f} "
            f"| {vip.get('value_served', 0):,.0f} | {std.get('value_served', 0):,.0f} "
            f"| {took:.0f} |"
        )


if __name__ == "__main__":
    main()
