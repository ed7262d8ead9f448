"""The operator's view commands: `cases list|show`, `accounts list`, `templates preview`.

Registered into the `canceldesk` parser by daemon.cli. Each prints a table for a person,
or JSON with `--json` for a script. Exit codes: 0 shown, 1 nothing matched (an unknown
case reference, an empty filtered list), 2 a usage or configuration problem.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from daemon import app
from daemon.cli import gallery
from daemon.config import load
from daemon.db import transaction
from daemon.schema import ConfigError
from daemon.sheets.layout import checklist_names
from daemon.tables import cell, table, to_json
from daemon.views import caseviews
from daemon.views.template_preview import preview

if TYPE_CHECKING:
    from daemon.desk import Desk

CASE_COLUMNS = [
    ("reference", "Case"),
    ("kind", "Kind"),
    ("state", "State"),
    ("client", "Client"),
    ("account", "Account"),
    ("owner", "Owner"),
    ("waiting_for", "Waiting for"),
    ("overdue", "Overdue"),
    ("opened_at", "Opened (UTC)"),
]
ACCOUNT_COLUMNS = [
    ("key", "Account"),
    ("name", "Name"),
    ("manager", "Manager"),
    ("services", "Services"),
    ("monthly", "Monthly"),
    ("contacts", "Contacts"),
    ("open_cases", "Open cases"),
]


def register(commands, accounts) -> None:
    """Add the view commands to the top-level sub-parsers and to `accounts`."""
    cases = commands.add_parser("cases", help="list cases, or show one case's whole timeline").add_subparsers(
        dest="cases_command"
    )
    listing = cases.add_parser("list", help="cases with who they wait for, oldest first")
    listing.add_argument("--state", default="", help="only cases in this state (e.g. open, pending_approval)")
    listing.add_argument("--kind", default="", choices=["", "cancel", "pause", "change"], help="only this kind")
    listing.add_argument("--account", default="", help="only this account key")
    listing.add_argument("--owner", default="", help="only accounts managed by this address")
    listing.add_argument("--overdue", action="store_true", help="only cases past a deadline or chased by a timer")
    listing.add_argument(
        "--waiting",
        default="",
        metavar="WHO",
        help="only cases waiting for WHO (customer, account team, approver, offboarding ...)",
    )
    _json(listing).set_defaults(handler=cmd_cases_list)
    show = cases.add_parser(
        "show", help="one case: timeline with Message-IDs, decisions, approvals, timers, mail sent, sheet rows"
    )
    show.add_argument("reference", help="the case reference, e.g. CX-2026-0001")
    _json(show).set_defaults(handler=cmd_cases_show)
    _json(accounts.add_parser("list", help="accounts on file with their services and open cases")).set_defaults(
        handler=cmd_accounts_list
    )
    templates = commands.add_parser("templates", help="the outgoing mail templates").add_subparsers(
        dest="templates_command"
    )
    preview = templates.add_parser("preview", help="render a template with a real case's values")
    preview.add_argument("name", help="template name, e.g. acknowledgment")
    preview.add_argument("--case", required=True, metavar="REF", help="the case whose values fill it")
    preview.set_defaults(handler=cmd_templates_preview)
    gallery = templates.add_parser(
        "gallery",
        help="render every mail for each kind and language into .eml and .html files (DIR/index.html lists them)",
    )
    gallery.add_argument("folder", metavar="DIR", help="where to write the gallery")
    gallery.set_defaults(handler=cmd_templates_gallery)


def _json(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")
    return parser


def _desk(args) -> Desk:
    return app.open_desk(args.config)


def cmd_cases_list(args) -> int:

    desk = _desk(args)
    with transaction(desk.factory) as session:
        rows = caseviews.list_cases(
            session,
            desk.clock.now(),
            state=args.state,
            kind=args.kind,
            account=args.account,
            owner=args.owner,
            overdue=args.overdue,
            waiting=args.waiting,
        )
    if args.json:
        print(to_json(rows))
    else:
        shown = [{**r, "overdue": "OVERDUE" if r["overdue"] else ""} for r in rows]
        print(table(shown, CASE_COLUMNS, width=40) if rows else "no cases match")
    return 0 if rows else 1


def cmd_cases_show(args) -> int:

    def show(desk: Desk, session, case) -> str:
        detail = caseviews.case_detail(session, case, desk.clock.now(), checklist_names(desk.config.offboarding.items))
        return to_json(detail) if args.json else show_text(detail)

    return _on_case(args, args.reference, show)


def _on_case(args, reference: str, work) -> int:
    """Print what `work(desk, session, case)` returns for case `reference`; exit 1 when there is none."""

    desk = _desk(args)
    with transaction(desk.factory) as session:
        case = caseviews.find_case(session, reference)
        if case is None:
            print(f"no case {reference}", file=sys.stderr)
            return 1
        output = work(desk, session, case)
    print(output, end="" if output.endswith("\n") else "\n")
    return 0


def show_text(d: dict) -> str:
    """`cases show` for a person: the case's line, then one section per part of its history."""
    head = [
        f"{d['reference']}  {d['kind']}  {d['state']}" + ("  OVERDUE" if d["overdue"] else ""),
        f"client     {d['client']}" + (f" ({d['account']})" if d["account"] else ""),
        f"requester  {d['requester']}",
        f"owner      {cell(d['owner'] or None)}",
        f"opened     {cell(d['opened_at'])} UTC",
        f"waiting    {d['waiting_for'] or 'nobody (finished)'}",
        f"services   {cell(d['services'])}" + (f"  final day {d['final_day']}" if d["final_day"] else ""),
        f"outcome    {d['outcome'] or '-'}",
    ]
    sections = [
        (
            "Timeline",
            d["timeline"],
            [
                ("at", "At (UTC)"),
                ("kind", "What"),
                ("actor", "Who"),
                ("summary", "Summary"),
                ("message_id", "Message-ID"),
            ],
        ),
        ("Reasons", d["reasons"], [("category", "Category"), ("text", "Text"), ("by", "By")]),
        ("Offers", d["offers"], [("name", "Offer"), ("details", "Details"), ("outcome", "Outcome"), ("by", "By")]),
        (
            "Decisions",
            d["decisions"],
            [("service", "Service"), ("decision", "Decision"), ("day", "Day"), ("by", "By"), ("at", "At (UTC)")],
        ),
        (
            "Approvals",
            d["approvals"],
            [
                ("round", "Round"),
                ("role", "Role"),
                ("status", "Status"),
                ("by", "By"),
                ("at", "At (UTC)"),
                ("reason", "Reason"),
            ],
        ),
        (
            "Timers",
            d["timers"],
            [("kind", "Timer"), ("due_at", "Due (UTC)"), ("status", "Status"), ("outcome", "Outcome")],
        ),
        (
            "Mail and effects sent",
            d["outbox"],
            [
                ("kind", "Kind"),
                ("recipient", "To"),
                ("status", "Status"),
                ("done_at", "Done (UTC)"),
                ("message_id", "Message-ID"),
            ],
        ),
    ]
    parts = ["\n".join(head)]
    parts += [f"{title}\n{table(rows, columns, width=70)}" for title, rows, columns in sections if rows]
    for sheet, rows in d["sheet_rows"].items():
        if rows:
            parts.append(f"Sheet rows: {sheet}\n{table(rows, [(k, k) for k in rows[0]], width=40)}")
    return "\n\n".join(parts)


def cmd_accounts_list(args) -> int:

    desk = _desk(args)
    with transaction(desk.factory) as session:
        rows = caseviews.list_accounts(session)
    print(to_json(rows) if args.json else (table(rows, ACCOUNT_COLUMNS, width=40) if rows else "no accounts"))
    return 0 if rows else 1


def cmd_templates_gallery(args) -> int:
    """On a demo desk of its own; the agency's override folder, when its configuration names one."""
    override = None
    if Path(args.config).is_file():
        try:
            config = load(args.config)
        except ConfigError as exc:
            print(f"configuration FAILED {exc}")
            return 2
        if config.templates.override_dir:
            override = str(config.path(config.templates.override_dir))
    out = Path(args.folder)
    entries = gallery.build(out, override)
    print(f"wrote {len(entries)} mails under {out} (open {out / 'index.html'})")
    return 0


def cmd_templates_preview(args) -> int:

    def render(desk: Desk, session, case) -> str:
        rendered, missing = preview(desk, case, args.name)
        note = f"\n(shown as ‹…›, filled when the desk sends it: {', '.join(missing)})\n" if missing else ""
        return f"Subject: {rendered.subject}\n\n{rendered.text}{note}"

    return _on_case(args, args.case, render)
