"""The operator's outbox commands: `outbox list` (what waits, failed or went) and `outbox retry`.

Registered into the `canceldesk` parser by daemon.cli. `list` prints a table for a person
or JSON with `--json`; `retry` puts entries back in line for the daemon's next pass.
Exit codes: 0 done, 1 some entries could not be requeued (unknown, already sent), 2 usage.
"""

from __future__ import annotations

import contextlib
import sys

from daemon import app
from daemon.db import transaction
from daemon.mail.outbox_admin import listing, requeue
from daemon.tables import table, to_json

COLUMNS = [
    ("id", "ID"),
    ("status", "Status"),
    ("kind", "Kind"),
    ("recipient", "Recipient"),
    ("case", "Case"),
    ("attempts", "Tries"),
    ("next_try", "Next try (UTC)"),
    ("last_error", "Last error"),
]


def register(commands) -> None:
    outbox = commands.add_parser("outbox", help="outgoing mail and sheet rows: what waits, what failed").add_subparsers(
        dest="outbox_command"
    )
    listing = outbox.add_parser("list", help="outbox entries (all by default), oldest first")
    which = listing.add_mutually_exclusive_group()
    for status in ("pending", "failed", "sent"):
        which.add_argument(
            f"--{status}", dest="status", action="store_const", const=status, help=f"only {status} entries"
        )
    listing.add_argument("--limit", type=int, default=200, help="at most this many, the newest (default 200)")
    listing.add_argument("--json", action="store_true", help="one JSON list, for scripts")
    listing.set_defaults(handler=cmd_outbox_list)
    retry = outbox.add_parser("retry", help="send failed (or waiting) entries again, at the next pass")
    retry.add_argument("ids", type=int, nargs="*", metavar="ID")
    retry.add_argument("--failed", action="store_true", help="every failed entry")
    retry.set_defaults(handler=cmd_outbox_retry)


@contextlib.contextmanager
def _session(args):
    """A transaction on the desk's database, its connections closed afterwards."""

    desk = app.open_desk(args.config)
    try:
        with transaction(desk.factory) as session:
            yield desk, session
    finally:
        desk.engine.dispose()


def cmd_outbox_list(args) -> int:

    with _session(args) as (_, session):
        rows = listing(session, args.status, args.limit)
    if args.json:
        print(to_json(rows))
    else:
        print(table(rows, COLUMNS, width=100) if rows else "no outbox entries")
    return 0


def cmd_outbox_retry(args) -> int:

    if not args.ids and not args.failed:
        print("error: name the entries to retry (IDs from `canceldesk outbox list`) or --failed", file=sys.stderr)
        return 2
    with _session(args) as (desk, session):
        queued, problems = requeue(session, ids=tuple(args.ids), failed=args.failed, now=desk.clock.now())
    print(
        f"{len(queued)} entries queued again"
        + (f" (#{', #'.join(map(str, queued))})" if queued else "")
        + ": the running daemon sends them at its next pass (or `canceldesk run --once`)"
    )
    for problem in problems:
        print(f"  not queued: {problem}")
    return 1 if problems else 0
