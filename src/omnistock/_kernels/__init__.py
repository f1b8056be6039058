"""Numba kernels: every ``@njit`` of the library lives here (private).

Kernels take the records of ``records`` (the compiled network, a batch of orders,
the stock state, one order's request) and plain arrays, and return plain arrays.
No pydantic, polars, dicts or strings inside a kernel; every integer code (rule
outcomes, methods, node kinds, cost components, policies) comes from ``codes``.
Importing this package does not compile anything; each kernel compiles on first
call (and is cached on disk).
"""
