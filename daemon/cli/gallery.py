"""`canceldesk templates gallery DIR`: every mail the desk writes, in one place, for review.

For each kind (cancel, pause, change) and each language the desk writes, a request in that
language (daemon.cli.gallery_requests) goes through the real pipeline on a fresh demo desk
(SQLite in a temporary folder, the demo's accounts, a fixed clock); every customer
template is then rendered from that case in the customer's language, and every staff
template in the desk's. Each mail is written as DIR/KIND/LANG/NAME.eml (open it in a mail
client) and NAME.html (a browser), with DIR/index.html listing them all.

The output is the same bytes every time: fixed clock, Message-IDs named after the mail,
a fixed MIME boundary and reply token, so the committed copy under docs/mail/ changes
only when a wording does. Values only the real moment supplies (an approval step, a
timer's due time) come from the gallery's own realistic choices; a staff template value
it does not know is shown as ‹name›, as `templates preview` does.
"""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from daemon.accounts_import import import_rows, read_rows
from daemon.app import build_desk, ensure_dirs, make_source
from daemon.cases.effects import case_context, format_local, staff_view
from daemon.cli.demo import DEMO_CONFIG, DOCS
from daemon.cli.gallery_requests import KINDS, REQUESTS
from daemon.clock import ManualClock
from daemon.config import from_text
from daemon.db import transaction
from daemon.intake.watcher import Watcher
from daemon.mail.compose import Thread, compose
from daemon.mail.rendering import CUSTOMER_TEMPLATES
from daemon.models import Case
from daemon.views.template_preview import Placeholder
from integrations.maildir import deliver
from parsers.language import DEFAULT, LANGUAGES

# A Monday morning; every mail of the gallery is dated then.
CLOCK = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CUSTOMER = "Jane Doe <jane@acme.example>"
STAFF_READER = "amy@agency.example"
BOUNDARY = "===============gallery=="
STAFF = "staff"


@dataclass(frozen=True)
class Entry:
    kind: str
    language: str  # a language code, or "staff" for the desk's own mail
    name: str
    subject: str

    @property
    def path(self) -> str:
        return f"{self.kind}/{self.language}/{self.name}"


def build(out: Path, override_dir: str | None = None) -> list[Entry]:
    """Write the gallery under `out`; the entries written, in index order."""
    entries: list[Entry] = []
    with tempfile.TemporaryDirectory(prefix="canceldesk-gallery-") as tmp:
        for kind in KINDS:
            for language in LANGUAGES:
                desk = _desk(Path(tmp) / f"{kind}-{language}", override_dir)
                try:
                    entries += _write_case(desk, out, kind, language, staff_too=language == DEFAULT)
                finally:
                    desk.engine.dispose()
    (out / "index.html").write_text(_index(entries), encoding="utf-8")
    return entries


def _desk(folder: Path, override_dir: str | None):

    folder.mkdir(parents=True)
    text = DEMO_CONFIG.replace('url = "sqlite:///canceldesk.db"', f'url = "sqlite:///{folder / "gallery.db"}"')
    if override_dir:
        text += f'\n[templates]\noverride_dir = "{Path(override_dir).resolve()}"\n'
    config = from_text(text, folder)
    ensure_dirs(config)
    desk = build_desk(config, clock=ManualClock(CLOCK))
    with transaction(desk.factory) as session:
        import_rows(session, read_rows(DOCS / "accounts.example.csv"))
    return desk


def _write_case(desk, out: Path, kind: str, language: str, *, staff_too: bool) -> list[Entry]:

    subject, body = REQUESTS[language][kind]
    request_id = f"<request.{kind}.{language}@acme.example>"
    deliver(
        desk.config.path("inbox"), _request_mail(CUSTOMER, desk.config.desk.address, subject, body, request_id, CLOCK)
    )
    Watcher(desk, make_source(desk.config)).run_once()
    entries = []
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case).order_by(Case.id)).first()
        context = {**case_context(desk, case), **_values(desk, case, subject, language)}
        for name in CUSTOMER_TEMPLATES:
            rendered = desk.renderer.render(name, {**context, **_per_template(name)}, language)
            entries.append(
                _write(
                    desk,
                    out,
                    Entry(kind, language, name, rendered.subject),
                    rendered,
                    "jane@acme.example",
                    case,
                    request_id,
                )
            )
        if staff_too:
            view = {**staff_view(desk, context, to_staff=STAFF_READER in desk.staff), **_staff_values(desk, case)}
            for name in desk.renderer.names():
                if name in CUSTOMER_TEMPLATES:
                    continue
                values = {**view, **_per_template(name)}
                values.update({v: Placeholder(v) for v in desk.renderer.variables(name) - set(values)})
                rendered = desk.renderer.render(name, values)
                entries.append(
                    _write(desk, out, Entry(kind, STAFF, name, rendered.subject), rendered, STAFF_READER, case, "")
                )
    return entries


def _request_mail(sender: str, to: str, subject: str, body: str, message_id: str, date: datetime) -> bytes:
    """The customer's request as their mail client writes it."""

    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"], msg["Message-ID"] = format_datetime(date), message_id
    msg.set_content(body)
    return bytes(msg)


def _values(desk, case: Case, subject: str, language: str) -> dict:
    """What the senders of each mail add to the case's own values, chosen as the demo would."""
    services = list(case.requested_services or [])
    day = case.requested_final_day.isoformat() if case.requested_final_day else ""
    on_file = [item.service for item in case.account.billing_items]
    call_start = CLOCK + timedelta(days=2, hours=5)
    zone = case.account.timezone
    summary: dict[str, Any] = {
        "kept": [s for s in on_file if s not in services],
        "cancelled": [],
        "paused": [],
        "changed": [],
        "credit": "",
        "offers_accepted": [],
        "outcome": "",
    }
    if case.kind == "cancel":
        summary["cancelled"] = [{"service": s, "final_day": day} for s in services]
    elif case.kind == "pause":
        summary["paused"] = [{"service": s, "until": day} for s in services]
    else:
        summary["changed"] = [{"service": s, "from": day, "amount": "600.00", "was": "800.00"} for s in services]
        label = desk.config.offers.customer_label("downgrade", language)
        summary["offers_accepted"] = [{"name": "downgrade", "details": "", "label": label}]
    return {
        **summary,
        "company": desk.config.desk.company,
        "kind_verb": {"cancel": "cancel your agreement", "pause": "pause your services", "change": "change your plan"}[
            case.kind
        ],
        "to_customer": True,
        "to_staff": False,
        "moved": False,
        "call_minutes": 30,
        "call_start": call_start,
        "call_time": format_local(call_start, zone),
        "ended": [{"service": s, "day": day} for s in services],
        "continuing": summary["kept"],
        "offer": desk.config.winback.offer_for("price", language),
        "reason": "price",
        "closed_on": day,
        "resume_day": day,
        "writer": "ops@acme.example",
        "writer_name": "ops@acme.example",
        "asked_services": ["Content"],
        "asked_final_day": "",
        "subject": subject,
        "commands": "#cancel",
    }


def _staff_values(desk, case: Case) -> dict:
    """What the timers and notices add for staff, in the desk's zone."""
    zone = desk.config.desk.timezone
    services = list(case.requested_services or []) or ["SEO"]
    return {
        "service": services[0],
        "final_day": case.requested_final_day.isoformat() if case.requested_final_day else "",
        "days_before": 7,
        "retry": CLOCK + timedelta(days=1),
        "retry_at": format_local(CLOCK + timedelta(days=1), zone),
        "opened": CLOCK,
        "opened_at": format_local(CLOCK, zone),
        "due": CLOCK + timedelta(days=2),
        "due_at": format_local(CLOCK + timedelta(days=2), zone),
        "asked": CLOCK,
        "asked_at": format_local(CLOCK, zone),
        "waited": "1 day 2 hours",
        "role": "retention",
        "sender": "newcolleague@agency.example",
        "operator": desk.config.desk.operator or "ops@agency.example",
        "reported_by": STAFF_READER,
        "denied_by": "jane@acme.example",
    }


def _per_template(name: str) -> dict:
    values: dict = {"letter_number": 2 if name == "winback" else 1}
    if name == "offboarding_overdue":
        values["item"] = "Remove the agency's access to Google Ads"
    return values


def _write(desk, out: Path, entry: Entry, rendered, to: str, case: Case, answering: str) -> Entry:

    msg = compose(
        desk.config.desk,
        rendered,
        [to],
        now=CLOCK,
        case_reference=case.reference,
        case_token="gallery",
        answering=Thread(answering) if answering else None,
    )
    msg.replace_header("Message-ID", f"<{entry.path.replace('/', '.')}@{desk.config.desk.domain}>")
    if msg.is_multipart():
        msg.set_boundary(BOUNDARY)
    folder = out / entry.kind / entry.language
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{entry.name}.eml").write_bytes(bytes(msg))
    (folder / f"{entry.name}.html").write_text(_page(msg, rendered), encoding="utf-8")
    return entry


def _page(msg, rendered) -> str:
    head = "".join(
        f"<tr><th>{name}</th><td>{html.escape(str(msg[name]))}</td></tr>"
        for name in ("From", "To", "Subject", "Date")
        if msg[name]
    )
    body = rendered.html or f"<pre>{html.escape(rendered.text)}</pre>"
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(rendered.subject)}</title>'
        f"<style>{_STYLE}</style></head>\n<body><table>{head}</table>\n{body}\n</body></html>\n"
    )


def _index(entries: list[Entry]) -> str:
    rows = []
    for kind in KINDS:
        rows.append(f"<h2>{kind}</h2>")
        for language in (*LANGUAGES, STAFF):
            found = [e for e in entries if e.kind == kind and e.language == language]
            if not found:
                continue
            items = "".join(
                f'<li><a href="{e.path}.html">{html.escape(e.name)}</a> '
                f'(<a href="{e.path}.eml">.eml</a>): {html.escape(e.subject)}</li>'
                for e in found
            )
            rows.append(f"<h3>{language}</h3>\n<ul>{items}</ul>")
    body = "\n".join(rows)
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>canceldesk mail gallery</title>'
        f"<style>{_STYLE}</style></head>\n<body><h1>Every mail the desk sends</h1>\n{body}\n</body></html>\n"
    )


_STYLE = (
    "body{font-family:sans-serif;max-width:50em;margin:2em auto}pre{white-space:pre-wrap;font-size:1rem}"
    "th{text-align:left;padding-right:1em;color:#555}"
)
