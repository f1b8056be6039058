"""Which kernels a solver compiles, and whether their on-disk cache is cold.

numba compiles a kernel on its first call and, with ``cache=True``, writes the
machine code next to the source (``__pycache__/*.nbi`` index, ``*.nbc`` data).
A fresh install therefore compiles every kernel once (tens of seconds), and every
later process loads them from disk (a fraction of a second). This module names
the kernels each built-in solver's first solve compiles (``KERNELS``, kept true
by tests/test_progress.py) and reads numba's index files to tell a cold cache
from a warm one without compiling anything.

Importing this module imports neither numba nor a kernel; the functions do.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

__all__ = ["KERNELS", "cached", "dispatcher", "kernels_for", "loaded"]

#: Kernels every plan needs (pricing the plan, building the records).
_COMMON = (
    "cost.order_cost_components",
    "cost.plan_cost",
    "records._new_network",
    "records._new_orders",
)
#: Kernels of the per-order walk (greedy, the policies, lookahead, optimal's warm
#: start): the batch kernel and every kernel it calls (each is compiled and
#: cached on its own on a cold cache; a warm process loads only the callers).
_WALK = (
    *_COMMON,
    "candidates.collect_candidates",
    "geo.km_pairs",
    "lockers.count_packages",
    "nested.close_view",
    "nested.open_view",
    "rated_order.rated_order",  # contract v1.1's path of decide_order
    "rated_prune.fill_all",
    "rated_prune.in_package_order",
    "rated_prune.per_line",
    "rated_prune.single_bound",
    "rated_prune.uncoupled",
    "rated_prune.undominated",
    "rated_search._evaluate",
    "rated_search._flow",
    "rated_search._price_order",
    "rated_search._shipping",
    "rated_search._var_bound",
    "rated_search.rated_decision",
    "rated_search.rated_terms",
    "rates.band_of",
    "rates.card_reach",
    "records._new_state",
    "search.best_decision",
    "sourcing._grow",
    "sourcing._order_rows",
    "sourcing._price_order",
    "sourcing._unprice_order",
    "sourcing.decide_batch",
    "sourcing.decide_order",
    "subsets._bound",
    "subsets._choose_line",
    "subsets._evaluate",
    "subsets._sorted_by_unit",
    "subsets.better",
    "subsets.branch_and_bound",
    "subsets.relaxed",
    "transport.allocate",
    "walks._before",
    "walks.walk",
)
_LOOKAHEAD = (
    *_WALK,
    "packages.batch_candidates",
    "packages.order_candidates",
    "packages.package_ok",
    "packages.packages_ok",
)
#: Kernels (``module.function`` under ``omnistock._kernels``) that the first solve
#: of each built-in solver compiles on a cold cache.
KERNELS: dict[str, tuple[str, ...]] = {
    "null": _COMMON,
    "greedy": _WALK,
    "priority": _WALK,
    "nearest": _WALK,
    "most_stock": _WALK,
    "lookahead": _LOOKAHEAD,
    "optimal": (
        *_LOOKAHEAD,
        "components.find",
        "components.flatten",
        "components.link",
        "components.link_into",
        "repair.fill_short",
    ),
}


def kernels_for(solvers: Iterable[str]) -> tuple[str, ...]:
    """The kernels (``module.function``) the first solve of each of ``solvers`` compiles.

    Solvers that are not built in (registered by a user) add none: nothing is
    known of what they call.
    """
    names: dict[str, None] = {}
    for solver in solvers:
        names.update(dict.fromkeys(KERNELS.get(solver, ())))
    return tuple(names)


def dispatcher(name: str) -> Any:
    """The numba dispatcher of the kernel ``module.function`` (imports its module)."""
    module, function = name.split(".", 1)
    return getattr(importlib.import_module(f"omnistock._kernels.{module}"), function)


def loaded(name: str) -> bool:
    """Whether this process has the kernel ``name`` compiled or loaded already."""
    return bool(dispatcher(name).overloads)


def cached(name: str) -> bool:
    """Whether the kernel ``name`` is in numba's on-disk cache, fresh for its source.

    Reads the kernel's index file (``__pycache__/<function>-<line>.pyXY.nbi``)
    the way numba does when it loads: an index written by another numba version
    or for an older source file (numba compares the file's time stamp and size)
    counts as absent. Any surprise in numba's private layout counts as absent
    too, so a cache that cannot be read is reported cold, never warm.
    """
    try:
        index = dispatcher(name)._cache._cache_file._load_index()
    except Exception:  # numba's private layout changed: unknown reads as cold
        return False
    return bool(index)
