"""Every error and warning omnistock raises on purpose.

All of them derive from :class:`OmnistockError`, so a caller can catch the library's
own failures with one ``except`` clause and still tell them from bugs. Each error
carries the data that explains it as attributes, so callers never parse the text.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "InsufficientStock",
    "InvalidOptionError",
    "OmnistockError",
    "PlanCheckError",
    "ScenarioError",
    "UnknownSolverError",
]


class OmnistockError(Exception):
    """Base class of every error omnistock raises on purpose."""


class ScenarioError(OmnistockError, ValueError):
    """A scenario file or frame cannot be read into the contract (not a field rule)."""


class UnknownSolverError(OmnistockError, ValueError):
    """The solver name is not registered.

    Attributes
    ----------
    name
        The name that was asked for.
    valid
        The registered names.
    """

    def __init__(self, name: str, valid: Sequence[str]) -> None:
        self.name = name
        self.valid = tuple(valid)
        super().__init__(
            f"solver must be one of {', '.join(self.valid)}. Got {name!r}."
        )


class InvalidOptionError(OmnistockError, ValueError):
    """A solver was given an option it does not take.

    Attributes
    ----------
    solver
        The solver's name.
    option
        The unknown option.
    valid
        The options that solver takes.
    """

    def __init__(self, solver: str, option: str, valid: Sequence[str]) -> None:
        self.solver = solver
        self.option = option
        self.valid = tuple(valid)
        allowed = ", ".join(self.valid) if self.valid else "no options"
        super().__init__(
            f"solver {solver!r} takes {allowed}. Got unknown option {option!r}."
        )


class InsufficientStock(OmnistockError):
    """A reservation or commit asks for more units than are free.

    Attributes
    ----------
    node_id, sku
        The node-SKU that is short.
    requested
        Units asked for.
    free
        Units that were available to this request.
    """

    def __init__(
        self, node_id: str, sku: str, requested: int, free: int, detail: str = ""
    ) -> None:
        self.node_id = node_id
        self.sku = sku
        self.requested = int(requested)
        self.free = int(free)
        extra = f" {detail}" if detail else ""
        super().__init__(
            f"node {node_id!r}, sku {sku!r}: requested {self.requested} units but "
            f"only {self.free} are available.{extra}"
        )


class PlanCheckError(OmnistockError):
    """A plan breaks one or more rules of docs/semantics.md.

    Attributes
    ----------
    violations
        One human-readable line per violated rule, each naming the rule (S1..),
        the order, SKU or node at fault, and the values found.
    """

    def __init__(self, violations: Sequence[str]) -> None:
        self.violations = list(violations)
        shown = "\n  ".join(self.violations[:50])
        more = len(self.violations) - 50
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(
            f"plan breaks {len(self.violations)} rule(s):\n  {shown}{tail}"
        )
