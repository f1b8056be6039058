"""Executors: what the scale-out paths accept, and how data reaches their workers.

Every scale-out entry point (``solve``, ``replan``, ``simulate_many``) takes any
:class:`concurrent.futures.Executor`; a Dask ``distributed.Client`` (or its
``get_executor()``) is recognised without importing Dask, so the library keeps no
hard dependency on it (``pip install 'omnistock[dask]'``).

Large, shared inputs (the compiled network) reach each worker once, not once per
task: on a Dask client they are scattered to every worker
(``client.scatter(..., broadcast=True)``); on any other executor they travel as a
:class:`Shipped` handle that pickles to a token and a file path, and each worker
process loads the file once and keeps it in a small per-process cache.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any, Generic, TypeVar

from omnistock.exceptions import InvalidArgument

__all__ = [
    "Shipped",
    "check_executor",
    "dask_client",
    "make_executor",
    "n_workers",
    "release",
    "resolve",
    "ship",
    "submit",
]

T = TypeVar("T")

# Objects loaded by worker processes, by token: a sweep or a solve needs one or
# two networks at a time, so a short LRU keeps memory flat across many solves.
_CACHE: OrderedDict[str, Any] = OrderedDict()
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


def dask_client(executor: object) -> Any | None:
    """The Dask ``Client`` behind ``executor`` (a client or its executor), else None."""
    client = getattr(executor, "_client", executor)
    module = type(client).__module__
    if module.startswith("distributed") and hasattr(client, "scatter"):
        return client
    return None


def check_executor(executor: object, function: str) -> None:
    """Raise :class:`InvalidArgument` unless ``executor`` is None, an Executor or a Dask client."""
    if executor is None or isinstance(executor, Executor) or dask_client(executor):
        return
    detail = (
        "executor must be None, a concurrent.futures.Executor or a Dask "
        f"distributed.Client. Got a {type(executor).__name__}."
    )
    raise InvalidArgument(function=function, argument="executor", detail=detail)


def n_workers(executor: Executor | None) -> int:
    """How many tasks ``executor`` runs at once (1 when it does not say)."""
    if executor is None:
        return 1
    client = dask_client(executor)
    if client is not None:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers))
    return max(1, int(getattr(executor, "_max_workers", 1)))


def _load(token: str, path: str) -> Shipped[Any]:
    """Unpickling a :class:`Shipped` in a worker: read the file once per process."""
    with _CACHE_LOCK:
        if token in _CACHE:
            _CACHE.move_to_end(token)
            return Shipped(_CACHE[token], token=token)
    with open(path, "rb") as fh:
        obj = pickle.load(fh)
    with _CACHE_LOCK:
        _CACHE[token] = obj
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return Shipped(obj, token=token)


class Shipped(Generic[T]):
    """An object sent to workers once: it pickles to a token and a file path.

    The driver writes the object to a temporary file the first time the handle is
    pickled; a worker process reads it on first use and caches it by token, so
    every later task that carries the same handle costs a few bytes. The file is
    removed by :meth:`close` (the partitioned solve and ``simulate_many`` close
    their handles when they end). A thread pool never pickles the handle.
    """

    def __init__(self, obj: T, *, token: str | None = None) -> None:
        self.obj = obj
        self.token = token or uuid.uuid4().hex
        self._path: str | None = None
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Callable[..., Shipped[T]], tuple[str, str]]:
        """Pickle as (token, path), writing the file on first use."""
        with self._lock:
            if self._path is None:
                fd, path = tempfile.mkstemp(prefix="omnistock-", suffix=".pkl")
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump(self.obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
                self._path = path
            return (_load, (self.token, self._path))

    def close(self) -> None:
        """Remove the file (workers keep what they loaded)."""
        with self._lock:
            if self._path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path)
                self._path = None


def ship(executor: Executor | None, obj: T) -> Any:
    """A reference to ``obj`` for tasks of ``executor``; :func:`resolve` reads it back.

    On a Dask client the object is scattered to every worker (a Dask future that
    Dask replaces by the object inside the task); otherwise a :class:`Shipped`.
    """
    client = dask_client(executor) if executor is not None else None
    if client is not None:
        return client.scatter(obj, broadcast=True, hash=False)
    return Shipped(obj)


def resolve(ref: Any) -> Any:
    """The object behind a reference made by :func:`ship`, inside a task."""
    return ref.obj if isinstance(ref, Shipped) else ref


def release(ref: Any) -> None:
    """Free what :func:`ship` made: the file of a handle, the data of a Dask future."""
    if isinstance(ref, Shipped):
        ref.close()
    elif hasattr(ref, "release"):
        ref.release()


def submit(
    executor: Executor,
    fn: Callable[..., T],
    *args: Any,
    retries: int = 1,
    scatter: tuple[int, ...] = (),
) -> Future[T]:
    """``fn(*args)`` on ``executor``; on a Dask client with Dask's own ``retries``.

    Dask re-runs a task whose worker was lost by itself; ``retries`` also re-runs
    one that raised. Other executors are retried by the caller. On Dask the
    arguments at positions ``scatter`` (large arrays) are scattered first, so
    they travel to the worker that runs the task instead of inside the task graph.
    """
    client = dask_client(executor)
    if client is not None:
        sent = [
            client.scatter(a, hash=False) if i in scatter else a
            for i, a in enumerate(args)
        ]
        future: Future[T] = client.submit(fn, *sent, pure=False, retries=retries)
        return future
    return executor.submit(fn, *args)


#: Seconds the local cluster and its client get to shut down.
CLOSE_SECONDS = 30.0


@contextlib.contextmanager
def make_executor(
    scheduler: str | None = None, workers: int | None = None
) -> Iterator[Executor | None]:
    """The executor the command line's ``--scheduler`` / ``--workers`` ask for.

    Parameters
    ----------
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``): a
        ``distributed.Client`` connected to it (workers are the cluster's).
    workers
        Without ``scheduler``: a Dask ``LocalCluster`` of this many one-thread
        worker processes on loopback, closed on exit. Ignored with ``scheduler``.

    Yields
    ------
    concurrent.futures.Executor or None
        None (run in process) when both are None.

    Raises
    ------
    InvalidArgument
        ``workers`` < 1, or Dask is asked for but not installed.
    """
    if scheduler is None and workers is None:
        yield None
        return
    if workers is not None and workers < 1:
        detail = f"workers must be >= 1. Got workers={workers}."
        raise InvalidArgument(
            function="make_executor", argument="workers", detail=detail
        )
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:
        argument = "scheduler" if scheduler is not None else "workers"
        detail = (
            "a Dask cluster needs the optional extra: pip install 'omnistock[dask]'."
        )
        raise InvalidArgument(
            function="make_executor", argument=argument, detail=detail
        ) from err
    if scheduler is not None:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    local: Any = Client(cluster)  # type: ignore[no-untyped-call]
    try:
        yield local
    finally:
        # Bounded: a worker killed mid-task (a fault a test injects, or a crash)
        # must not leave the caller waiting on the cluster's shutdown for ever.
        local.close(timeout=CLOSE_SECONDS)
        cluster.close(timeout=CLOSE_SECONDS)
