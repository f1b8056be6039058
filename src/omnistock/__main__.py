"""``python -m omnistock``: the command line."""

try:
    from omnistock.cli import main
except KeyboardInterrupt:  # Ctrl-C while importing: stop as quietly as main does
    raise SystemExit(130) from None

raise SystemExit(main())
