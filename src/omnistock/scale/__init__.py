"""Scale-out: batches, re-plans and sweeps on any executor, a Dask cluster included.

``solve(..., executor=)``, ``replan(..., executor=)`` and
``simulate_many(runs, executor=)`` accept any ``concurrent.futures.Executor`` or a
Dask ``distributed.Client``; :func:`make_executor` builds the one the command
line's ``--scheduler`` / ``--workers`` ask for (docs/scale-out.md).
"""

from omnistock.scale.executors import make_executor

__all__ = ["make_executor"]
