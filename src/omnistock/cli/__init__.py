"""The command line: ``omnistock demo | sample | solve | check | explain | replan | simulate``.

The four jobs of the library from a shell: make a day of sample orders, solve it
(any solver, any option), check and explain a plan, re-plan unreleased orders
and simulate a policy over days. :mod:`.app` parses and dispatches (and owns
Ctrl-C), :mod:`.files` reads inputs and writes outputs, :mod:`.commands` and
:mod:`.jobs` hold the subcommands.

Bad input never shows a traceback: one line naming what is wrong (the file,
field or option and the value), exit code 2. ``--out`` is checked before any
work (a bad path never throws away a long solve) and never overwrites the
input. Ctrl-C stops with exit code 130 and no traceback.
"""

from __future__ import annotations

from omnistock.cli.app import main

__all__ = ["main"]
