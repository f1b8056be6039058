"""Planning over time: a simulated stream of orders served by a policy.

:mod:`.run` replays orders through a policy day by day (:func:`simulate`);
:mod:`.many` runs many of them, a policy sweep, on any executor (:func:`simulate_many`);
:mod:`.kpis` turns the result into daily and whole-run KPIs;
:mod:`.replenishment` refills stock (:class:`OrderUpTo`); :mod:`.offline` (:func:`hindsight`) is the
perfect-information baseline.
"""

from __future__ import annotations

from omnistock.simulation.many import simulate_many, sweep
from omnistock.simulation.offline import hindsight
from omnistock.simulation.replenishment import OrderUpTo
from omnistock.simulation.returns import Returns
from omnistock.simulation.run import Simulation, simulate

__all__ = [
    "OrderUpTo",
    "Returns",
    "Simulation",
    "hindsight",
    "simulate",
    "simulate_many",
    "sweep",
]
