"""The manager's and the monitor's commands: `report` (and `report --send-digest`), `health`.

Registered into the `canceldesk` parser by daemon.cli. `report` prints the reasons report
as tables (or `--json`), and writes it as HTML (`--html FILE`) and CSV (`--csv FOLDER`).
`health` exits 0 when all is well, 1 when something needs a person, 2 on a usage problem.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from daemon import app
from daemon.db import transaction
from daemon.tables import to_json
from daemon.views import digest, health, report_render
from daemon.views.health import check_health
from daemon.views.report import build_report

if TYPE_CHECKING:
    from daemon.desk import Desk


def register(commands) -> None:
    report = commands.add_parser("report", help="the reasons report: outcomes, reasons, offers, revenue, timings")
    report.add_argument("--since", metavar="YYYY-MM-DD", help="only cases opened on or after this day")
    report.add_argument("--html", type=Path, metavar="FILE", help="also write the report as one HTML page")
    report.add_argument("--csv", type=Path, metavar="FOLDER", help="also write one CSV file per table")
    report.add_argument("--json", action="store_true", help="print JSON for scripts instead of tables")
    report.add_argument(
        "--send-digest",
        action="store_true",
        help="mail this week's digest to the managers now (once per week, like the timer)",
    )
    report.set_defaults(handler=cmd_report)
    health = commands.add_parser(
        "health", help="is every part reachable, is mail waiting? exit 1 if a person is needed"
    )
    health.add_argument("--json", action="store_true", help="print JSON for a monitor instead of lines")
    health.set_defaults(handler=cmd_health)


def _desk(args) -> Desk:
    return app.open_desk(args.config)


def cmd_report(args) -> int:

    since = datetime.strptime(args.since, "%Y-%m-%d").replace(tzinfo=UTC) if args.since else None
    desk = _desk(args)
    if args.send_digest:
        return _send_digest(desk)
    with transaction(desk.factory) as session:
        report = build_report(desk, session, since=since)
    print(to_json(report.as_dict()) if args.json else report_render.text(report))
    if args.html:
        args.html.write_text(report_render.html_page(report), encoding="utf-8")
        print(f"HTML report written to {args.html}", file=sys.stderr)
    if args.csv:
        paths = report_render.write_csv(report, args.csv)
        print(f"{len(paths)} CSV files written to {args.csv}", file=sys.stderr)
    return 0


def _send_digest(desk: Desk) -> int:

    sent = digest.send_if_due(desk)
    print(sent.describe())
    desk.dispatcher.deliver_due()
    return 0 if sent.recipients else 1


def on_run(desk: Desk, *, once: bool) -> None:
    """What `run` adds for managers and monitors: the weekly digest on its timer, the health endpoint."""

    if once:
        digest.run_due(desk)
        return
    digest.schedule(desk, desk.scheduler)
    if desk.config.health.http_port:
        health.serve(desk, desk.config.health.http_port)


def cmd_health(args) -> int:

    desk = _desk(args)
    result = check_health(desk)
    print(to_json(result.as_dict()) if args.json else "\n".join(result.lines()))
    return 0 if result.ok else 1
