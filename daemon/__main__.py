"""`python -m daemon` runs the `canceldesk` command."""

from daemon.cli import main

raise SystemExit(main())
