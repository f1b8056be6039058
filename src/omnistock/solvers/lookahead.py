"""The ``lookahead`` policy: greedy, with each unit priced at its future value.

After Acimovic & Graves (2015), "Making better fulfillment decisions on the fly in
an online retail environment": solve the LP relaxation of the expected demand of
the rest of the horizon against the stock left; the dual value of a node-SKU's
stock constraint is what one more unit there would save that future demand. Each
order is then decided as greedy decides it (exactly, under every rule) with every
unit it takes costing its unit cost plus ``weight`` times that shadow price. Units
of SKUs that are plentiful everywhere price at 0, so the policy only departs from
greedy where taking a unit starves a later order.

Parameters (``Options``): ``row_cost``, the shadow price per stock row (the
simulator refreshes it on a schedule from a forecast); when absent, the batch's
own orders are the expected demand. ``exempt_row_cost``, the prices for orders
of tiers exempt from last-unit protection (default: ``row_cost``). ``weight``
scales the prices (1 is the dual value itself). ``time_limit`` bounds the LP.
``progress`` hears the phases (``prices (LP)``, ``orders``, ``done``) as optimal's
does (:class:`omnistock.progress.Progress`), at least once a second.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from omnistock._kernels.codes import POLICY_GREEDY
from omnistock.compiled import CompiledScenario
from omnistock.exceptions import InvalidOptionValue
from omnistock.progress import ProgressCallback, Reporter
from omnistock.solvers.base import Capabilities, Solution
from omnistock.solvers.greedy import run_batch

__all__ = ["LookaheadOptions", "LookaheadSolver", "stock_prices", "tier_prices"]


class LookaheadOptions(BaseModel):
    """Options of the ``lookahead`` policy (docs/solvers.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    row_cost: Any = Field(
        default=None,
        description="Shadow price per stock row (float64[nnz]); None: from the batch's LP.",
    )
    exempt_row_cost: Any = Field(
        default=None,
        description="Shadow price per stock row for exempt tiers; None: row_cost.",
    )
    weight: float = Field(
        default=1.0, ge=0.0, description="Scale of the shadow prices."
    )
    time_limit: float = Field(default=60.0, gt=0.0, description="Seconds for the LP.")
    progress: ProgressCallback | None = Field(
        default=None,
        description="Callback: phase and orders done; per phase and each second.",
    )


def stock_prices(
    compiled: CompiledScenario, *, time_limit: float = 60.0, engine: str = "highs"
) -> np.ndarray:
    """float64[nnz]: the LP shadow price of each stock row for the compiled orders.

    The price a non-exempt order (the usual tier) pays; see :func:`tier_prices`.
    """
    return tier_prices(compiled, time_limit=time_limit, engine=engine)[0]


def tier_prices(
    compiled: CompiledScenario, *, time_limit: float = 60.0, engine: str = "highs"
) -> tuple[np.ndarray, np.ndarray]:
    """float64[nnz] twice: each stock row's LP shadow price for non-exempt and exempt orders.

    The LP is :func:`omnistock.relaxation.relax_compiled`: every stock row, protected
    limit and capacity is a row of its own, so each limit's dual holds its whole
    value. A row's price is the cost one more unit there would save: for a
    non-exempt order its all-takes dual plus its protected-limit dual plus its
    node's capacity dual; an exempt order's take does not use the protected
    limit, so its price leaves that dual out. Rows the orders cannot use price
    at 0; so does every row when no LP was solved in time.
    """
    from omnistock.relaxation import relax_compiled

    net = compiled.network
    if compiled.orders.n_orders == 0:
        zero = np.zeros(net.stock_node.shape[0], dtype=np.float64)
        return zero, zero.copy()
    duals = relax_compiled(compiled, time_limit=time_limit, engine=engine)
    exempt: np.ndarray = duals.free + duals.capacity[net.stock_node]
    return exempt + duals.limit, exempt


class LookaheadSolver:
    """Greedy with units priced by LP shadow prices (docs/solvers.md, "lookahead")."""

    name: ClassVar[str] = "lookahead"
    capabilities: ClassVar[Capabilities] = Capabilities(
        per_order=True, time_limit=True, priced=True, progress=True
    )
    Options: ClassVar[type[LookaheadOptions]] = LookaheadOptions

    def run(self, compiled: CompiledScenario, options: LookaheadOptions) -> Solution:
        """Decide every order in turn, each unit costing its shadow price too."""
        if not np.isfinite(options.weight):
            # An infinite weight makes every priced unit cost inf (or nan at a
            # price of 0): every order would be left unfilled without a word.
            detail = f"must be a finite number >= 0. Got weight={options.weight!r}."
            raise InvalidOptionValue(self.name, "weight", detail)
        with Reporter(self.name, options.progress) as reporter:
            return self._run(compiled, options, reporter)

    def _run(
        self, compiled: CompiledScenario, options: LookaheadOptions, reporter: Reporter
    ) -> Solution:
        n_orders = compiled.orders.n_orders
        if options.row_cost is None:
            reporter.phase("prices (LP)", total=n_orders)
            prices, exempt = tier_prices(compiled, time_limit=options.time_limit)
        else:
            prices = _row_prices(compiled, options.row_cost, "row_cost")
            exempt = (
                prices
                if options.exempt_row_cost is None
                else _row_prices(compiled, options.exempt_row_cost, "exempt_row_cost")
            )
        both = np.concatenate([prices, exempt]) * options.weight
        reporter.phase("orders", total=n_orders)
        sol = run_batch(compiled, POLICY_GREEDY, both)
        sol.info["priced_rows"] = int((prices > 0).sum())
        reporter.phase("done", done=n_orders)
        return sol


def _row_prices(compiled: CompiledScenario, value: Any, name: str) -> np.ndarray:
    """``value`` as float64[nnz], one price per stock row, or InvalidOptionValue."""
    prices = np.asarray(value, dtype=np.float64)
    if prices.shape != compiled.network.stock_node.shape:
        detail = (
            f"needs one price per stock row ({compiled.network.stock_node.shape[0]}). "
            f"Got shape {prices.shape}."
        )
        raise InvalidOptionValue(LookaheadSolver.name, name, detail)
    bad = np.flatnonzero(~np.isfinite(prices))
    if bad.size:
        row = int(bad[0])
        detail = (
            f"every price must be finite. Got {name}[{row}]={float(prices[row])!r} "
            f"({bad.size} non-finite price(s))."
        )
        raise InvalidOptionValue(LookaheadSolver.name, name, detail)
    return prices
