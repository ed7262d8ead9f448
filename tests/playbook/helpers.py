"""The playbook tests' mail: customers' requests and calendar answers, staff commands, what went out.

Staff mail carries the header our own receiving server (authserv-id mx.agency.example)
puts on top of a mail whose DKIM passes for agency.example: the one way staff mail is
trusted in these tests. Customers' calendar answers are built the way Gmail and Outlook
send them: a text/calendar part with METHOD:REPLY, to the organizer's address.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from icalendar import Calendar, Event, vCalAddress
from sqlalchemy import select

from daemon.app import build_desk, ensure_dirs
from daemon.clock import ManualClock
from daemon.config import from_text
from daemon.db import transaction
from daemon.models import Case
from tests.pipeline.mailkit import run, sent  # deliver and sweep once; what went out
from tests.support import START, config_text, load_example_accounts, mail

AUTH_SERVER = 'mx.agency.example'
PLAYBOOK_CONFIG = f"""
[auth]
authserv_ids = ["{AUTH_SERVER}"]

[business]
timezone = "Europe/London"
holidays_country = "GB"

[vendors]
notices = ["PPC: rep@ads-vendor.example", "SEO: seo-tools@vendor.example"]
"""
AUTH = f"{AUTH_SERVER}; dkim=pass header.d=agency.example"


# The account teams' specialists are staff too (they tick their offboarding items); they
# live in a staff file of their own, as an agency would keep them.
SPECIALISTS = """
members = [
  { email = "sam@agency.example", name = "Sam", roles = ["specialist"] },
  { email = "pia@agency.example", name = "Pia", roles = ["specialist"] },
  { email = "sol@agency.example", name = "Sol", roles = ["specialist"] },
  { email = "cora@agency.example", name = "Cora", roles = ["specialist"] },
]
"""


def playbook_desk(tmp_path, database_url, *, extra: str = "", clock=None, **kwargs):
    (tmp_path / "specialists.toml").write_text(SPECIALISTS)
    text = config_text(database_url, extra=PLAYBOOK_CONFIG + extra, **kwargs)
    config = from_text(text.replace("[staff]\n", '[staff]\nfile = "specialists.toml"\n', 1), tmp_path)
    ensure_dirs(config)
    desk = build_desk(config, clock=clock or ManualClock(START))
    load_example_accounts(desk)
    desk.dns = lambda name, timeout=5: None   # no test reaches real DNS
    return desk


def later(desk, hours: float = 2) -> None:
    """Let time pass on the manual clock and deliver what has come due."""
    desk.clock.advance(timedelta(hours=hours))
    run(desk)


def sent_to(desk, address: str, subject: str = "") -> list[EmailMessage]:
    return [m for m in sent(desk) if address in str(m["To"]) and subject in str(m["Subject"])]


def one_to(desk, address: str, subject: str) -> EmailMessage:
    found = sent_to(desk, address, subject)
    assert len(found) == 1, (address, subject, [m["Subject"] for m in sent_to(desk, address)])
    return found[0]


def text(message: EmailMessage) -> str:
    return " ".join(message.get_body(("plain",)).get_content().split())


def calendar_of(message: EmailMessage) -> Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_content())


def staff_command(desk, answering: EmailMessage, body: str, *, sender: str, auth: str | None = AUTH) -> EmailMessage:
    """Reply to `answering` as `sender` with `body`; return the results mail that answers it."""
    headers = {"In-Reply-To": answering["Message-ID"], "References": answering["Message-ID"]}
    raw = mail(sender=sender, subject=f"Re: {answering['Subject']}", body=body, headers=headers)
    if auth:
        raw = f"Authentication-Results: {auth}\r\n".encode() + raw
    address = sender.split("<")[-1].rstrip(">")
    before = {m["Message-ID"] for m in sent_to(desk, address)}
    run(desk, raw)
    answers = [m for m in sent_to(desk, address) if m["Message-ID"] not in before and "Re:" in str(m["Subject"])]
    assert len(answers) == 1, [m["Subject"] for m in sent_to(desk, address) if m["Message-ID"] not in before]
    return answers[0]


def calendar_reply(invite: EmailMessage, attendee: str, partstat: str, name: str = "Jane Doe") -> bytes:
    """The customer's calendar answering `invite` (Accept / Decline), as Gmail sends it."""
    event = calendar_of(invite).walk("VEVENT")[0]
    reply = Calendar()
    reply.add("prodid", "-//Google Inc//Google Calendar 70.9054//EN")
    reply.add("version", "2.0")
    reply.add("method", "REPLY")
    answer = Event()
    for key in ("uid", "sequence", "dtstart", "dtend", "summary"):
        answer.add(key, event.decoded(key) if key in ("dtstart", "dtend") else event[key])
    person = vCalAddress(f"mailto:{attendee}")
    person.params.update({"PARTSTAT": partstat, "CN": name})
    answer.add("attendee", person)
    answer.add("organizer", event["organizer"])
    answer.add("dtstamp", datetime.now(timezone.utc))
    reply.add_component(answer)
    organizer = str(event["organizer"]).split(":", 1)[1]
    msg = EmailMessage()
    msg["From"] = f"{name} <{attendee}>"
    msg["To"] = organizer
    msg["Subject"] = f"{'Accepted' if partstat == 'ACCEPTED' else 'Declined'}: {event['summary']}"
    msg["Date"] = format_datetime(START)
    msg["Message-ID"] = make_msgid(domain="acme.example")
    msg.set_content(f"{name} has {partstat.lower()} this invitation.")
    msg.add_alternative(reply.to_ical().decode(), subtype="calendar", params={"method": "REPLY"})
    return bytes(msg)


def the_case(desk) -> Case:
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case)).one()
        case.events, case.account  # loaded while the session is open
        return case


class WebhookReceiver:
    """A local HTTP server standing in for Slack's incoming webhook: it keeps every JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FailingReceiver(WebhookReceiver):
    """A webhook that answers `codes` in turn (then 200), keeping what it was sent."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = list(codes)
        super().__init__()
        receiver = self
        handler = self.server.RequestHandlerClass
        original = handler.do_POST

        def do_post(request):
            if receiver.codes:
                request.rfile.read(int(request.headers["Content-Length"]))
                request.send_response(receiver.codes.pop(0))
                request.end_headers()
                return
            original(request)

        handler.do_POST = do_post
