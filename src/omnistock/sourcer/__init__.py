"""The Sourcer: one order's exact decision for an order service, thread-safe.

- :mod:`~omnistock.sourcer.service`: :class:`Sourcer` (source, commit, amend).
- :mod:`~omnistock.sourcer.decision`: :class:`Decision`, what it decided for one order.
- :mod:`~omnistock.sourcer.state`: :class:`SourcingState`, the counters it decides
  against and their lock.
- :mod:`~omnistock.sourcer.nested`: a tier's view and takes on a v1.2 scenario.
- :mod:`~omnistock.sourcer.parcels`: the parcels a decision takes at its locker.
"""

from omnistock.sourcer.decision import Decision
from omnistock.sourcer.service import Sourcer
from omnistock.sourcer.state import SourcingState

__all__ = ["Decision", "Sourcer", "SourcingState"]
