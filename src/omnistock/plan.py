"""Plan: the result of every solver, priced by one cost kernel, checkable and explainable."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from omnistock._kernels.codes import RATED_COMPONENTS
from omnistock._kernels.cost import COMPONENTS, plan_cost
from omnistock._kernels.rates import rated_components
from omnistock.compiled import CompiledScenario
from omnistock.compiled.rates import rated_batch
from omnistock.exceptions import InvalidArgument
from omnistock.solvers.base import Solution, SolveStatus

if TYPE_CHECKING:
    from omnistock.model.scenario import Scenario

__all__ = ["ALLOCATION_SCHEMA", "UNFILLED_SCHEMA", "Plan"]

#: Columns and dtypes of ``Plan.allocations``.
ALLOCATION_SCHEMA: dict[str, Any] = {
    "order_id": pl.String,
    "sku": pl.String,
    "node_id": pl.String,
    "qty": pl.Int64,
}
#: Columns and dtypes of ``Plan.unfilled``.
UNFILLED_SCHEMA: dict[str, Any] = {
    "order_id": pl.String,
    "sku": pl.String,
    "qty": pl.Int64,
}


@dataclass(frozen=True, eq=False)
class Plan:
    """Which node gives how many units of each order line, and what it costs.

    Attributes
    ----------
    allocations
        One row per (order, SKU, node) with ``qty > 0``; columns ``ALLOCATION_SCHEMA``.
    unfilled
        One row per order line with units left unfilled (``qty > 0``); never dropped.
    objective
        The cost of the plan (docs/semantics.md, S9).
    cost_breakdown
        The objective by component: package, distance, handling, unit, unfilled.
    status
        ``optimal``, ``feasible`` or ``time_limit``.
    bound
        Proven lower bound on the optimum, when the solver has one.
    gap
        ``(objective - bound) / max(|objective|, 1e-9)``, when a bound is known.
    solver
        Name of the solver that made the plan.
    solve_time
        Wall seconds the solver took, one-time loading excluded.
    load_time
        Wall seconds ``solve`` spent first loading the solver's kernels (compiled
        on a fresh install, read from numba's disk cache by each new process,
        once per solver and process; 0.0 after). Not part of ``solve_time``.
    """

    allocations: pl.DataFrame
    unfilled: pl.DataFrame
    objective: float
    cost_breakdown: dict[str, float]
    status: SolveStatus = SolveStatus.FEASIBLE
    bound: float | None = None
    gap: float | None = None
    solver: str = ""
    solve_time: float = 0.0
    load_time: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    _kpis: dict[str, float] = field(default_factory=dict, repr=False)
    _compiled: CompiledScenario | None = field(default=None, repr=False)

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_solution(
        cls,
        compiled: CompiledScenario,
        solution: Solution,
        *,
        solver: str = "",
        solve_time: float = 0.0,
        load_time: float = 0.0,
    ) -> Plan:
        """Price a solver's allocation triples and build the frames."""
        net, orders = compiled.network, compiled.orders
        line_idx = np.asarray(solution.line_idx, dtype=np.int64)
        node_idx = np.asarray(solution.node_idx, dtype=np.int64)
        qty = np.asarray(solution.qty, dtype=np.int64)
        keep = qty > 0
        line_idx, node_idx, qty = line_idx[keep], node_idx[keep], qty[keep]
        # One row per (line, node): merge duplicates a solver may emit.
        if line_idx.size:
            key = line_idx * max(net.n_nodes, 1) + node_idx
            uniq, inverse = np.unique(key, return_inverse=True)
            qty = np.bincount(inverse, weights=qty).astype(np.int64)
            line_idx = uniq // max(net.n_nodes, 1)
            node_idx = uniq % max(net.n_nodes, 1)
        comp, unfilled_qty, pair_order, pair_node = plan_cost(
            net.record, orders.record, line_idx, node_idx, qty
        )
        breakdown = {name: float(comp[i]) for i, name in enumerate(COMPONENTS)}
        objective = float(comp.sum())
        if rated_batch(net, orders):  # contract v1.1: three more components
            extra = rated_components(
                net.record, orders.record, line_idx, node_idx, qty
            ).sum(axis=0)
            breakdown.update(zip(RATED_COMPONENTS[5:], extra.tolist(), strict=True))
            objective += float(extra.sum())
        allocations = pl.DataFrame(
            {
                "order_id": orders.order_ids[orders.line_order[line_idx]],
                "sku": orders.line_sku_ids[line_idx],
                "node_id": net.node_ids[node_idx],
                "qty": qty,
            },
            schema=ALLOCATION_SCHEMA,
        )
        short = np.flatnonzero(unfilled_qty > 0)
        unfilled = pl.DataFrame(
            {
                "order_id": orders.order_ids[orders.line_order[short]],
                "sku": orders.line_sku_ids[short],
                "qty": unfilled_qty[short],
            },
            schema=UNFILLED_SCHEMA,
        )
        bound = solution.bound
        gap = None
        if bound is not None:
            gap = max(0.0, (objective - bound) / max(abs(objective), 1e-9))
        kpis = _kpis(compiled, qty, unfilled_qty, pair_order, pair_node, objective)
        return cls(
            allocations=allocations,
            unfilled=unfilled,
            objective=objective,
            cost_breakdown=breakdown,
            status=solution.status,
            bound=bound,
            gap=gap,
            solver=solver,
            solve_time=solve_time,
            load_time=load_time,
            info=dict(solution.info),
            _kpis=kpis,
            _compiled=compiled,
        )

    # -- reading -----------------------------------------------------------------

    def kpis(self) -> dict[str, float]:
        """Key figures of the plan (docs/solvers.md lists their definitions).

        ``orders``, ``units`` (requested), ``units_filled``, ``fill_rate`` (units),
        ``order_fill_rate`` (orders filled in full), ``packages``,
        ``packages_per_order`` (per order that got anything), ``split_rate`` (share
        of those with more than one package), ``mean_km`` (per package),
        ``cost_per_order`` (objective / orders), ``objective``.
        """
        return dict(self._kpis)

    def summary(self) -> str:
        """A few lines for a terminal: solver, status, objective, bound, KPIs."""
        k = self._kpis
        lines = [
            f"solver {self.solver or '?'}: {self.status}, objective {self.objective:,.2f}"
            + (
                f", bound {self.bound:,.2f}, gap {self.gap:.2%}"
                if self.bound is not None and self.gap is not None
                else ""
            ),
        ]
        if k:
            lines.append(
                f"  {int(k['orders'])} orders, fill rate {k['fill_rate']:.1%}, "
                f"{k['packages_per_order']:.2f} packages/order, split rate "
                f"{k['split_rate']:.1%}, {k['mean_km']:.0f} km/package, "
                f"{k['cost_per_order']:.2f}/order"
            )
        return "\n".join(lines)

    def check(self, scenario: Scenario) -> None:
        """Verify every rule of docs/semantics.md and the objective, independently.

        Raises
        ------
        PlanCheckError
            With one line per violated rule.
        """
        from omnistock.check import check_plan

        check_plan(self, scenario)

    def explain(self, order_id: str, scenario: Scenario | None = None) -> pl.DataFrame:
        """Why each node was or was not used for ``order_id`` (one row per node).

        ``scenario``: the scenario the plan was made for; needed for a plan read
        from a file (a solved plan carries its own).
        """
        from omnistock.explain import explain_plan

        plan = (
            self if scenario is None else replace(self, _compiled=scenario.compiled())
        )
        frame: pl.DataFrame = explain_plan(plan, order_id)
        return frame

    def table(self) -> pl.DataFrame:
        """Allocations, then the unfilled lines with a null ``node_id``: one table.

        The layout of :meth:`to_parquet` and of a plan written as CSV.
        """
        return pl.concat(
            [
                self.allocations,
                self.unfilled.with_columns(
                    pl.lit(None, dtype=pl.String).alias("node_id")
                ).select(list(ALLOCATION_SCHEMA)),
            ]
        )

    # -- files -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain Python data (the JSON form)."""
        return {
            "solver": self.solver,
            "status": str(self.status),
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "solve_time": self.solve_time,
            "load_time": self.load_time,
            "cost_breakdown": self.cost_breakdown,
            "kpis": self._kpis,
            "allocations": self.allocations.to_dicts(),
            "unfilled": self.unfilled.to_dicts(),
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """The plan as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> Plan:
        """Read a plan written by :meth:`to_json` (text or a path).

        Anything that is not such a plan (a scenario file, other JSON) raises
        :class:`~omnistock.exceptions.InvalidArgument` saying what was expected.
        """
        text = str(text_or_path)
        source = "the text given"
        if not text.lstrip().startswith("{"):
            source = repr(text)
            try:
                text = Path(text).read_text("utf-8")
            except (OSError, UnicodeDecodeError) as err:
                detail = f"cannot read a plan from {source}: {err}."
                raise InvalidArgument(
                    function="Plan.from_json", argument="text_or_path", detail=detail
                ) from None
        try:
            data = json.loads(text)
            return cls(
                allocations=pl.DataFrame(data["allocations"], schema=ALLOCATION_SCHEMA),
                unfilled=pl.DataFrame(data["unfilled"], schema=UNFILLED_SCHEMA),
                objective=float(data["objective"]),
                cost_breakdown={k: float(v) for k, v in data["cost_breakdown"].items()},
                status=SolveStatus(data["status"]),
                bound=data.get("bound"),
                gap=data.get("gap"),
                solver=data.get("solver", ""),
                solve_time=float(data.get("solve_time", 0.0)),
                load_time=float(data.get("load_time", 0.0)),
                _kpis=dict(data.get("kpis", {})),
            )
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            pl.exceptions.PolarsError,
        ) as err:
            what = f"missing field {err}" if isinstance(err, KeyError) else str(err)
            detail = (
                f"{source} is not a plan written by Plan.to_json (it needs allocations, "
                f"unfilled, objective, cost_breakdown and status): {what}."
            )
            raise InvalidArgument(
                function="Plan.from_json", argument="text_or_path", detail=detail
            ) from None

    def to_parquet(self, path: str | Path) -> None:
        """Write one parquet file: allocations, then unfilled rows with a null node_id.

        The objective, status and breakdown go into the file's key-value metadata.
        """
        frame = self.table()
        meta = {
            k: v
            for k, v in self.to_dict().items()
            if k not in ("allocations", "unfilled")
        }
        frame.write_parquet(path, metadata={"omnistock.plan": json.dumps(meta)})

    @classmethod
    def read_parquet(cls, path: str | Path) -> Plan:
        """Read a plan written by :meth:`to_parquet`.

        A file that is not such a plan (no plan metadata, other columns, not
        parquet) raises :class:`~omnistock.exceptions.InvalidArgument`.
        """
        try:
            frame = pl.read_parquet(path)
            meta = json.loads(pl.read_parquet_metadata(path)["omnistock.plan"])
        except (OSError, KeyError, ValueError, pl.exceptions.PolarsError) as err:
            what = "it has no plan metadata" if isinstance(err, KeyError) else str(err)
            detail = f"{str(path)!r} is not a plan written by Plan.to_parquet: {what}."
            raise InvalidArgument(
                function="Plan.read_parquet", argument="path", detail=detail
            ) from None
        missing = [c for c in ALLOCATION_SCHEMA if c not in frame.columns]
        if missing:
            detail = f"{str(path)!r} is not a plan written by Plan.to_parquet: no column {missing}."
            raise InvalidArgument(
                function="Plan.read_parquet", argument="path", detail=detail
            )
        data = dict(meta)
        data["allocations"] = frame.filter(pl.col("node_id").is_not_null()).to_dicts()
        data["unfilled"] = (
            frame.filter(pl.col("node_id").is_null()).drop("node_id").to_dicts()
        )
        return cls.from_json(json.dumps(data))


def _kpis(
    compiled: CompiledScenario,
    qty: np.ndarray,
    unfilled_qty: np.ndarray,
    pair_order: np.ndarray,
    pair_node: np.ndarray,
    objective: float,
) -> dict[str, float]:
    from omnistock._kernels.geo import km_pairs

    net, orders = compiled.network, compiled.orders
    n_orders = orders.n_orders
    units = int(orders.line_qty.sum())
    filled = int(qty.sum())
    packages = int(pair_order.shape[0])
    per_order = (
        np.bincount(pair_order, minlength=n_orders)
        if n_orders
        else np.zeros(0, np.int64)
    )
    served = int((per_order > 0).sum())
    short_orders = (
        np.bincount(orders.line_order, weights=(unfilled_qty > 0), minlength=n_orders)
        if n_orders
        else np.zeros(0)
    )
    km = (
        km_pairs(net.node_xyz[pair_node], orders.order_xyz[pair_order])
        if packages
        else np.zeros(0)
    )
    return {
        "orders": float(n_orders),
        "units": float(units),
        "units_filled": float(filled),
        "fill_rate": filled / units if units else 1.0,
        "order_fill_rate": float((short_orders == 0).sum()) / n_orders
        if n_orders
        else 1.0,
        "packages": float(packages),
        "packages_per_order": packages / served if served else 0.0,
        "split_rate": float((per_order > 1).sum()) / served if served else 0.0,
        "mean_km": float(km.mean()) if packages else 0.0,
        "cost_per_order": objective / n_orders if n_orders else 0.0,
        "objective": objective,
    }
