# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Compare allocation policies over a simulated week
#
# Every policy decides each order on arrival against the stock left; stores and
# warehouses are refilled every night to their initial stock (an order-up-to rule with
# a nightly review), so each day is one plan. We compare the peers' fixed walks
# (`priority`, `nearest`, `most_stock`), omnistock's exact per-order `greedy`, the
# `lookahead` policy (greedy with units priced by LP shadow prices of the rest of the
# day's expected demand, after Acimovic & Graves 2015), greedy with a daily re-plan
# before release (after Xu, Allgor & Graves 2009), and the hindsight optimum of each
# day (every order known: a bound no policy can beat).
#
# Run: `python examples/compare_policies.py --write docs/policies.md --figures out/`
# (`--small` for a quick run on the small network). `--costs carrier` runs the same
# policies on the contract v1.1 rate cards (`samples.network(..., costs="carrier")`) and
# writes its own section at the end of the page, leaving the flat section as it is.

# %%
from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl

from omnistock import available_solvers, samples, simulate
from omnistock.simulation import hindsight
from omnistock.simulation.run import OrderUpTo

#: The command that writes docs/policies.md (``--small`` is added when given).
COMMAND = "python examples/compare_policies.py --write docs/policies.md --figures out/"
#: The carrier section starts at this heading: each run rewrites only its own part.
CARRIER_HEADING = "## Carrier rate cards (contract v1.1)"
#: The carrier run's size: smaller than the flat week so that it runs in minutes.
CARRIER_SETUP: dict[str, object] = {
    "name": "medium",
    "days": 2,
    "per_day": 1000,
    "time_limit": 60.0,
    "refresh_hours": 4.0,
}
#: The docs test runs every block of docs/ unless told why not (tests/test_docs.py).
SKIP_MARKER = (
    "<!-- docs-test: skip: the full week of every policy takes about 7 minutes; "
    "tests/test_examples.py runs the script on a small size -->"
)
#: The carrier section's marker: its run is smaller, but still minutes long.
CARRIER_SKIP_MARKER = (
    "<!-- docs-test: skip: the carrier run of every policy takes about 5 minutes; "
    "tests/test_examples.py runs the script on a small size -->"
)
#: Days of forecast draws behind the look-ahead prices (smoother prices than one).
FORECAST_DAYS = 5
#: One LP per day of draws, prices averaged (simulate's ``forecast_prices``).
FORECAST_PRICES = "average"


def compare(
    name: str = "medium",
    days: int = 7,
    per_day: int = 2000,
    seed: int = 0,
    time_limit: float = 60.0,
    refresh_hours: float = 4.0,
    costs: str = "flat",
) -> pl.DataFrame:
    """One row per policy: the week's KPIs and the share of the greedy-hindsight gap closed.

    ``costs`` picks the sample costs: "flat" (contract v1) or "carrier" (v1.1 rate cards).
    """
    network = samples.network(name, seed=seed, costs=costs)
    n = days * per_day
    stream = samples.orders(network, n, seed=seed + 1)
    arrivals = samples.orders_frame(network, n, seed=seed + 1, days=float(days))
    # The forecast: independent draws of FORECAST_DAYS days from the same
    # distribution (never the stream), read as the average demand of one day.
    k = FORECAST_DAYS
    forecast_orders = samples.orders(network, per_day * k, seed=seed + 1000)
    forecast_hours = arrivals_hours(
        samples.orders_frame(network, per_day * k, seed=seed + 1000, days=float(k))
    )
    common = {
        "arrivals": arrivals,
        "plan_hours": 24.0,
        "replenish": OrderUpTo(24.0, 0.0),
    }
    extra: dict[str, dict[str, object]] = {
        p: {}
        for p in ("priority", "nearest", "most_stock", "greedy")
        if p in available_solvers()
    }
    if "lookahead" in available_solvers():
        extra["lookahead"] = {
            "forecast": (forecast_orders, forecast_hours),
            "forecast_periods": k,
            "forecast_prices": FORECAST_PRICES,
            "refresh_every": refresh_hours,
        }
    # Load every policy's kernels before the clock starts: the first policy timed
    # must not pay for the others' compilation (its decision µs/order).
    for policy, options in extra.items():
        simulate(network, stream[:20], policy, plan_hours=24.0, **options)
    runs = {}
    for policy, options in extra.items():
        runs[policy] = _timed(
            lambda p=policy, e=options: simulate(network, stream, p, **common, **e)
        )
    runs["greedy + daily re-plan"] = _timed(
        lambda: simulate(
            network, stream, "greedy", **common, replan_every=24.0,
            replan_options={"time_limit": time_limit},
        )
    )  # fmt: skip
    runs["hindsight optimal"] = _timed(
        lambda: hindsight(
            network, stream, arrivals=arrivals, plan_hours=24.0,
            replenish=OrderUpTo(24.0, 0.0), time_limit=time_limit,
        )
    )  # fmt: skip
    greedy = runs["greedy"][0].kpis["cost_per_order"]
    best = runs["hindsight optimal"][0].kpis["cost_per_order"]
    rows = []
    for policy, (sim, seconds) in runs.items():
        k = sim.kpis
        gap = greedy - best
        rows.append(
            {
                "policy": policy,
                "cost_per_order": k["cost_per_order"],
                "packages_per_order": k["packages_per_order"],
                "fill_rate": k["fill_rate"],
                "vip_fill_rate": k["vip_fill_rate"],
                "mean_km": k["mean_km"],
                "decision_us_per_order": k["decision_us_per_order"],
                "gap_closed": (greedy - k["cost_per_order"]) / gap
                if gap > 0
                else float("nan"),
                "wall_s": seconds,
            }
        )
    return pl.DataFrame(rows)


def arrivals_hours(frame: pl.DataFrame) -> list[float]:
    """Hours since midnight of the first day, per row of an orders_frame."""
    midnight = frame["arrival"].dt.truncate("1d").min()
    return ((frame["arrival"] - midnight).dt.total_microseconds() / 3.6e9).to_list()


def _timed(run):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    result = run()
    return result, time.perf_counter() - began


def _closed(share: float) -> str:
    """A gap share for the table; a policy costlier than greedy closes none of it.

    The share is NaN when greedy already costs what hindsight does: no gap to close.
    """
    if share != share:  # NaN
        return "no gap (greedy = hindsight)"
    return f"{share:.0%}" if share >= 0 else "none (costlier than greedy)"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def markdown(
    table: pl.DataFrame, name: str, days: int, per_day: int, costs: str = "flat"
) -> str:
    """The table of docs/policies.md, with the setting and the figures the issue asks for.

    The carrier run ends with its own note (:data:`CARRIER_NOTE`) in place of the flat
    run's reading of its figures.
    """
    head = (
        "| policy | cost/order | packages/order | fill rate | VIP fill rate | km/package "
        "| decision µs/order | run s | greedy→hindsight gap closed |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['policy']} | {r['cost_per_order']:.2f} | {r['packages_per_order']:.3f} | "
        f"{r['fill_rate']:.2%} | {r['vip_fill_rate']:.2%} | {r['mean_km']:.0f} | "
        f"{r['decision_us_per_order']:.0f} | {r['wall_s']:.0f} | {_closed(r['gap_closed'])} |\n"
        for r in table.iter_rows(named=True)
    )
    cost = dict(zip(table["policy"], table["cost_per_order"], strict=True))
    closed = dict(zip(table["policy"], table["gap_closed"], strict=True))
    cheaper = 1.0 - cost["greedy"] / cost["priority"]
    return (
        f'Network "{name}" (omnistock.samples), {days} days x {per_day:,} orders '
        "(samples.orders_frame arrivals), every store and warehouse refilled each night to its "
        "initial stock, so each day is one plan (`plan_hours=24`, `OrderUpTo(24, 0)`).\n\n"
        + head
        + body
        + "\n"
        f"- greedy is {cheaper:.1%} cheaper per order than priority.\n"
        + (
            _carrier_bullets(closed)
            if costs == "carrier"
            else _flat_bullets(closed, cheaper)
        )
        + (CARRIER_NOTE if costs == "carrier" else _FLAT_NOTE)
    )


def _flat_bullets(closed: dict[str, float], cheaper: float) -> str:
    """The flat week's gap shares and the issue's targets, which are set on it."""
    return (
        f"- lookahead closes {closed.get('lookahead', float('nan')):.0%} of the "
        "greedy-to-hindsight gap; greedy + daily re-plan closes "
        f"{closed['greedy + daily re-plan']:.0%}.\n"
        f"- targets: lookahead >= 36 % {_met(closed.get('lookahead', 0.0) >= 0.36)}; "
        f"greedy + daily re-plan >= 50 % {_met(closed['greedy + daily re-plan'] >= 0.5)}; "
        f"greedy >= 15 % cheaper than priority {_met(cheaper >= 0.15)}.\n"
    )


def _carrier_bullets(closed: dict[str, float]) -> str:
    """The carrier run's gap shares (the issue's targets are the flat week's)."""
    lookahead = closed.get("lookahead", float("nan"))
    replan = closed["greedy + daily re-plan"]
    if replan != replan:  # NaN: greedy already at hindsight
        return "- greedy already costs what hindsight does here: there is no gap to close.\n"
    return (
        f"- lookahead closes {lookahead:.0%} of the greedy-to-hindsight gap; "
        f"greedy + daily re-plan closes {replan:.0%}.\n"
    )


_FLAT_NOTE = (
    "\nHow to read it: *decision µs/order* is the time to decide an order on arrival (the "
    "hindsight row: its solve time per order); *run s* is the whole week's wall time, "
    "re-plans and price refreshes included. lookahead refreshes its prices every 4 h from "
    f"a forecast of {FORECAST_DAYS} days of independent draws (seed + 1000, never the "
    "stream itself): the rest of each day of draws is priced by its own LP against the "
    'stock left and the prices are averaged over the days (`forecast_prices="average"`, '
    "a randomized LP). The daily re-plan solves the day's orders with `optimal` (60 s limit) "
    "before release; with a nightly refill the days are independent, so a re-plan of the "
    "whole day before release can reach the day's hindsight optimum: here it does, within "
    "the solver's gap. Hindsight solves each day with every order known (60 s limit per "
    "day). The gap itself is small in this setting (about half a unit of cost per order: "
    "a few same-day orders a week starved of a store's last units), so the look-ahead "
    "share hangs on one or two units and moves with the forecast draw (docs/decisions.md: "
    "other draws and the pooled LP). Costs are the defaults (unfilled unit 1,000, VIP "
    "weight 2), which is why fill rate dominates cost per order.\n"
)


CARRIER_NOTE = (
    "\nThe same policies, forecast and refill on the same nodes and stock with the contract "
    'v1.1 costs of `samples.network(name, seed, costs="carrier")`: SKU weights of 0.1 to '
    "25 kg and a rate card (ship zones by distance with package and per-kg rates, one short, "
    "dear same-day band, pickup transfer bands) in place of the flat per-km costs. The run is "
    "smaller than the flat week above (its size is in the first line) so that it takes "
    "minutes; its figures are not comparable with the flat table's, only its rows with each "
    "other; the targets of the flat week are not restated. *decision µs/order*, *run s* "
    "and the gap closed read as in the flat table; "
    "hindsight and the daily re-plan solve each day with `optimal` "
    f"({CARRIER_SETUP['time_limit']:.0f} s limit per day). A day's hindsight solve that "
    "reaches its limit returns its best plan found (greedy's at worst), not a proven "
    "optimum: read its decision µs/order times the orders of a day against the limit.\n"
)


def write_section(path: Path, command: str, text: str, costs: str) -> None:
    """Write one run's section into ``path``, keeping the other run's section as it is.

    The flat run owns the page up to :data:`CARRIER_HEADING`, the carrier run the part
    from it to the end, so either can be regenerated alone.
    """
    old = path.read_text() if path.exists() else ""
    before, mark, after = old.partition(CARRIER_HEADING)
    marker = CARRIER_SKIP_MARKER if costs == "carrier" else SKIP_MARKER
    block = f"{marker}\n```bash\n{command}\n```\n\n"
    if costs == "carrier":
        head = before if mark else before.rstrip("\n") + "\n\n"
        path.write_text(
            head + CARRIER_HEADING + "\n\nProduced by one command:\n\n" + block + text
        )
    else:
        page = "# Policies compared\n\nProduced by one command:\n\n" + block + text
        path.write_text(page + ("\n" + mark + after if mark else ""))


# %%
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="a quick run on 'small'")
    parser.add_argument(
        "--write", default=None, help="write the table into this markdown file"
    )
    parser.add_argument("--figures", default=None, help="folder for the PNG figures")
    parser.add_argument(
        "--costs",
        choices=("flat", "carrier"),
        default="flat",
        help='sample costs: "flat" (v1) or "carrier" (v1.1 rate cards, smaller run)',
    )
    args = parser.parse_args()
    flags = " --small" if args.small else ""
    flags += " --costs carrier" if args.costs == "carrier" else ""
    command = COMMAND.replace("compare_policies.py", "compare_policies.py" + flags, 1)
    setup: dict[str, object]
    if args.small:
        setup = {
            "name": "small",
            "days": 2,
            "per_day": 60,
            "time_limit": 5.0,
            "refresh_hours": 12.0,
        }
    else:
        setup = {
            "name": "medium",
            "days": 7,
            "per_day": 2000,
            "time_limit": 60.0,
            "refresh_hours": 4.0,
        }
        if args.costs == "carrier":
            setup = dict(CARRIER_SETUP)
    table = compare(**setup, costs=args.costs)  # type: ignore[arg-type]
    with pl.Config(tbl_rows=20, tbl_cols=20, tbl_width_chars=200):
        print(table)
    text = markdown(table, setup["name"], setup["days"], setup["per_day"], args.costs)  # type: ignore[arg-type]
    if args.write:
        write_section(Path(args.write), command, text, args.costs)
    if args.figures:
        from omnistock import plot

        out = Path(args.figures)
        out.mkdir(parents=True, exist_ok=True)
        suffix = "" if args.costs == "flat" else f"_{args.costs}"
        plot.kpi_comparison(table).savefig(out / f"policies_kpis{suffix}.png", dpi=110)
        print(f"figures written to {out}")


if __name__ == "__main__":
    main()
