"""``python -m omnistock``: the command line."""

from omnistock.cli import main

raise SystemExit(main())
