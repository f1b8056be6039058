"""Numba kernels: plain arrays in, plain arrays out (private).

No pydantic, polars, dicts or strings inside a kernel; rule outcomes are the int
codes of :class:`omnistock.rules.Reason`. Importing this package does not compile
anything; each kernel compiles on first call (and is cached on disk).
"""
