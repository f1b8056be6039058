"""Every error and warning omnistock raises on purpose.

All of them derive from :class:`OmnistockError`, so a caller can catch the library's
own failures with one ``except`` clause and still tell them from bugs. Each error
carries the data that explains it as attributes, so callers never parse the text.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "DecisionError",
    "InsufficientStock",
    "InvalidAdjustment",
    "InvalidArgument",
    "InvalidOptionError",
    "InvalidOptionValue",
    "InvalidRequest",
    "JournalError",
    "JournalLocked",
    "KeyConflict",
    "OmnistockError",
    "PlanCheckError",
    "ReservationClosed",
    "ScenarioError",
    "UnknownReservation",
    "UnknownOrder",
    "UnknownSolverError",
    "UnknownStockRow",
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


class InvalidOptionValue(OmnistockError, ValueError):
    """A solver option with a value the solver cannot use (wrong shape, out of range).

    Attributes
    ----------
    solver
        The solver's name.
    option
        The option at fault.
    """

    def __init__(self, solver: str, option: str, detail: str) -> None:
        self.solver = solver
        self.option = option
        super().__init__(f"solver {solver!r}, option {option!r}: {detail}")


class InvalidArgument(OmnistockError, ValueError):
    """A function was given an argument outside what it accepts (a name it does not know, a count < 0).

    Attributes
    ----------
    function
        The public function, as a user calls it (``"relax"``, ``"samples.network"``).
    argument
        The argument at fault.
    """

    def __init__(self, function: str, argument: str, detail: str) -> None:
        self.function = function
        self.argument = argument
        super().__init__(f"{function}: {detail}")


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


# -- live stock pool (omnistock.pool, omnistock.journal) ---------------------------


class UnknownStockRow(OmnistockError, LookupError):
    """A node or node-SKU stock row the pool does not hold.

    The pool's rows are fixed when it is built (docs/decisions.md): a node-SKU
    with no row can be reserved from (nothing is free there) but not adjusted.

    Attributes
    ----------
    node_id, sku
        What was asked for.
    """

    def __init__(self, node_id: str, sku: str, detail: str = "") -> None:
        self.node_id = node_id
        self.sku = sku
        extra = f" {detail}" if detail else ""
        super().__init__(f"node {node_id!r}, sku {sku!r}: no such stock row.{extra}")

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0])


class UnknownReservation(OmnistockError, LookupError):
    """A reservation id the pool never issued.

    Attributes
    ----------
    reservation_id
        The id that was given.
    """

    def __init__(self, reservation_id: object) -> None:
        self.reservation_id = reservation_id
        super().__init__(f"reservation {reservation_id!r}: unknown reservation id.")

    def __str__(self) -> str:
        return str(self.args[0])


class ReservationClosed(OmnistockError):
    """A commit or release of a reservation that is no longer active.

    Attributes
    ----------
    reservation_id
        The reservation.
    status
        What happened to it: ``"committed"``, ``"released"`` or ``"expired"``.
    action
        What was asked: ``"commit"`` or ``"release"``.
    """

    def __init__(self, reservation_id: int, status: str, action: str) -> None:
        self.reservation_id = reservation_id
        self.status = status
        self.action = action
        super().__init__(
            f"reservation {reservation_id}: cannot {action} it, it was already "
            f"{status}."
        )


class KeyConflict(OmnistockError, ValueError):
    """An idempotency key reused for a different reservation request.

    Attributes
    ----------
    key
        The idempotency key.
    reservation_id
        The reservation the key already names.
    """

    def __init__(self, key: str, reservation_id: int, detail: str) -> None:
        self.key = key
        self.reservation_id = reservation_id
        super().__init__(
            f"key {key!r}: already names reservation {reservation_id} with "
            f"different {detail}; use a new key for a new request."
        )


class InvalidAdjustment(OmnistockError, ValueError):
    """A stock adjustment that would leave on_hand below reserved or above 2**40.

    Attributes
    ----------
    node_id, sku
        The stock row.
    delta
        The change asked for.
    on_hand, reserved
        The row's units before the change.
    """

    def __init__(
        self,
        node_id: str,
        sku: str,
        delta: int,
        on_hand: int,
        reserved: int,
        bound: str = "",
    ) -> None:
        self.node_id = node_id
        self.sku = sku
        self.delta = int(delta)
        self.on_hand = int(on_hand)
        self.reserved = int(reserved)
        floor = "zero" if self.reserved == 0 else f"reserved={self.reserved}"
        super().__init__(
            f"node {node_id!r}, sku {sku!r}: adjust by {self.delta} would leave "
            f"on_hand={self.on_hand + self.delta}, {bound or 'below ' + floor}. Got "
            f"on_hand={self.on_hand}, delta={self.delta}."
        )


class InvalidRequest(OmnistockError, ValueError):
    """A pool request whose arguments are malformed (no lines, qty <= 0, bad ttl)."""


class JournalError(OmnistockError):
    """A journal or snapshot that cannot be replayed.

    A torn last record (a partial write at a crash) is not an error: it is
    ignored. This is raised for damage before the last record, a gap in the
    sequence numbers, or a record that does not apply to the recovered state.

    Attributes
    ----------
    path
        The journal or snapshot.
    """

    def __init__(self, path: object, detail: str) -> None:
        self.path = path
        super().__init__(f"journal {str(path)!r}: {detail}")


class DecisionError(OmnistockError, ValueError):
    """A Sourcer decision cannot be committed: already committed, or made elsewhere.

    Attributes
    ----------
    order_id
        The order the decision is for.
    reason
        What is wrong with it.
    """

    def __init__(self, order_id: str, reason: str) -> None:
        self.order_id = order_id
        self.reason = reason
        super().__init__(
            f"decision for order {order_id!r} cannot be committed: {reason}."
        )


class UnknownOrder(OmnistockError, KeyError):
    """An order id that the plan or scenario does not hold.

    Attributes
    ----------
    order_id
        The id that was asked for.
    """

    def __init__(self, order_id: str, where: str) -> None:
        self.order_id = order_id
        super().__init__(f"{where}: no order {order_id!r}. Got order_id={order_id!r}.")

    def __str__(self) -> str:
        return str(self.args[0])


class JournalLocked(JournalError):
    """A journal already open for writing (one writer per journal).

    Attributes
    ----------
    path
        The journal.
    holder
        The pid of the process holding it (this process for a second pool in
        it), or ``"unknown"`` when the system does not say.
    """

    def __init__(self, path: object, holder: str) -> None:
        self.holder = holder
        super().__init__(
            path,
            f"is open for writing by process {holder} (one writer per journal); "
            "close that pool first.",
        )


class StoreError(OmnistockError):
    """A pool's store (PostgreSQL) refused or lost an operation, not for the request.

    Connection loss, a schema of another version, a pool already loaded: the
    message says which. The operation's transaction was rolled back.
    """
