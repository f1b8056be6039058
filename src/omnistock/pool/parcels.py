"""A locker's parcels in the live pool (S11; docs/decisions.md, "lockers").

A locker holds no stock, so its entry of the pool's node capacity counter
(``PoolState.stock.capacity``, the array the Sourcer reads) counts the parcels
it can still take this period. A reservation made with ``locker=<id>`` holds
one parcel per package, i.e. per distinct shipping node of its lines, named in
:attr:`Reservation.parcels`:

- reserve takes them (refused with InsufficientStock when the locker has too
  few left) and amend swaps the old reservation's for the new one's;
- release and expire give back the parcels still held, commit keeps them;
- a partial commit ships the package of every node it takes units from: that
  parcel is used and no longer held (it is never given back, whatever happens
  to the package's other lines); a partial release gives a package's parcel
  back only when it takes the last lines at that node and no unit of the
  package was shipped;
- ``open_period`` restarts the locker from its capacity less the parcels active
  reservations still hold.

The functions here are the ONE copy of these rules; :mod:`omnistock.pool.state`
calls them at each change, recovery replays through the same calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import EllipsisType
from typing import TYPE_CHECKING, Any

import numpy as np

from omnistock._kernels.codes import LOCKER
from omnistock.exceptions import InsufficientStock, InvalidRequest
from omnistock.pool.reservation import Line, Reservation

if TYPE_CHECKING:
    from omnistock.compiled import CompiledNetwork
    from omnistock.pool.state import PoolState

__all__ = [
    "LockerArg",
    "at_locker",
    "check_locker",
    "check_parcels",
    "give_back",
    "held_parcels",
    "locker_short",
    "parcels_of",
    "settle_part",
]


#: ``amend(locker=...)``: a locker id, None (no locker) or ``...`` (keep the old one).
LockerArg = str | None | EllipsisType


def at_locker(
    state: PoolState,
    res: Reservation,
    record: list[Any],
    old: Reservation | None,
    locker: LockerArg,
) -> tuple[Reservation, list[Any]]:
    """``res`` (a new reservation or an amend's) at ``locker``, and its journal record.

    Checks the locker and its parcels left (``old``'s given back for an
    amend; ``...`` keeps ``old``'s locker) and returns ``res`` holding its
    parcels with ``record`` grown by the locker id: records without it (the
    older format) are reservations at no locker, or an amend keeping none.

    Raises
    ------
    InvalidRequest, InsufficientStock
        As :func:`check_locker` and :func:`check_parcels`; nothing is changed.
    """
    net = state.network
    if locker is ...:
        locker = None if old is None else old.locker
    else:
        where = "reserve" if old is None else "amend"
        locker = check_locker(net, locker, f"{where} of order {res.order_id!r}")
    held = check_parcels(net, state.stock.capacity, locker, res.lines, old)
    return res._replace(locker=locker, parcels=held), [*record, locker]


def check_locker(net: CompiledNetwork, locker: object, where: str) -> str | None:
    """``locker`` as the id of a locker node of ``net`` (None stays None).

    Raises
    ------
    InvalidRequest
        ``locker`` is not a node id, or names a node that is not a locker.
    """
    if locker is None:
        return None
    node = net.node_index.get(locker) if isinstance(locker, str) else None
    if node is None or int(net.node_kind[node]) != LOCKER:
        kind = "is not a node" if node is None else "is not a locker"
        msg = f"{where}: locker {locker!r} {kind}. Got locker={locker!r}."
        raise InvalidRequest(msg)
    return str(locker)


def parcels_of(locker: str | None, lines: Iterable[Line]) -> tuple[str, ...]:
    """The packages (shipping node ids, sorted) a reservation at ``locker`` holds."""
    if locker is None:
        return ()
    return tuple(sorted({line[0] for line in lines}))


def check_parcels(
    net: CompiledNetwork,
    capacity: np.ndarray,
    locker: str | None,
    lines: tuple[Line, ...],
    old: Reservation | None = None,
) -> tuple[str, ...]:
    """The parcels ``lines`` would hold at ``locker``, if it has that many left.

    ``old`` (an amend) gives its parcels back first when it is at the same
    locker. Changes nothing.

    Raises
    ------
    InsufficientStock
        The locker has fewer parcels left; the message names its capacity.
    """
    parcels = parcels_of(locker, lines)
    if not parcels:
        return parcels
    assert locker is not None
    left = int(capacity[net.node_index[locker]])
    if old is not None and old.locker == locker:
        left += len(old.parcels)
    if len(parcels) > left:
        raise locker_short(locker, lines[0][1], len(parcels), left)
    return parcels


def locker_short(locker: str, sku: str, need: int, left: int) -> InsufficientStock:
    """The error of a reservation needing ``need`` parcels where ``left`` are left."""
    detail = (
        f"(locker capacity left: locker {locker!r} can take {max(left, 0)} more "
        f"parcels this period, the reservation needs {need}, one a shipping node)"
    )
    return InsufficientStock(locker, sku, need, max(left, 0), detail)


def give_back(
    net: CompiledNetwork, capacity: np.ndarray, res: Reservation, sign: int = 1
) -> None:
    """Give ``res``'s held parcels back to its locker (``sign=-1``: take them)."""
    if res.parcels:
        assert res.locker is not None
        capacity[net.node_index[res.locker]] += sign * len(res.parcels)


def settle_part(
    net: CompiledNetwork,
    capacity: np.ndarray,
    rest: Reservation,
    lines: tuple[Line, ...],
    shipped: bool,
) -> Reservation:
    """``rest`` (what a partial commit or release of ``lines`` leaves) with its parcels.

    A commit uses the parcel of every node it ships from (kept, no longer
    held); a release gives back the parcel of a node with no line left in
    ``rest``. Lowers ``capacity`` by nothing and raises it by what is given back.
    """
    if not rest.parcels:
        return rest
    touched = {line[0] for line in lines}
    # A commit uses every parcel it ships from; a release frees only emptied ones.
    gone = touched if shipped else touched - {line[0] for line in rest.lines}
    kept = tuple(node for node in rest.parcels if node not in gone)
    if not shipped:
        assert rest.locker is not None
        capacity[net.node_index[rest.locker]] += len(rest.parcels) - len(kept)
    return rest._replace(parcels=kept)


def held_parcels(net: CompiledNetwork, active: Iterable[Reservation]) -> np.ndarray:
    """int64[n_nodes]: parcels the ``active`` reservations hold at each locker."""
    out = np.zeros(net.n_nodes, dtype=np.int64)
    for res in active:
        if res.parcels:
            assert res.locker is not None
            out[net.node_index[res.locker]] += len(res.parcels)
    return out
