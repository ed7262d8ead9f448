"""`canceldesk health` and its localhost HTTP endpoint: does the desk need a person?

Health is the parts the desk talks to (database, inbox, SMTP, sheets: reachable or not,
tried with `canceldesk check`'s own probes) and the work piling up (mails waiting, the
oldest one's age, outbox entries that failed for good, mails set aside). Any part down,
anything failed or set aside, or a mail waiting longer than `[health] oldest_mail_minutes`
needs a person: the command then exits 1 and the endpoint answers 503.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from daemon.db import transaction
from daemon.intake.claims import WAITING
from daemon.models import InboundMessage, MessageStatus, OutboxEntry, OutboxStatus
from daemon.views.check import CHECKS, Line

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)
PARTS = ("database", "mailbox", "smtp", "sheets")  # the names of daemon.views.check's probes


@dataclass
class Health:
    checked_at: datetime
    parts: dict[str, str | None]  # part -> None when reachable, else the problem
    waiting_mails: int
    oldest_waiting_minutes: float | None
    failed_outbox: int
    set_aside_mails: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat(),
            "parts": {name: problem or "ok" for name, problem in self.parts.items()},
            "waiting_mails": self.waiting_mails,
            "oldest_waiting_minutes": self.oldest_waiting_minutes,
            "failed_outbox": self.failed_outbox,
            "set_aside_mails": self.set_aside_mails,
            "problems": self.problems,
        }

    def lines(self) -> list[str]:
        out = [
            f"{name:<14} {'ok' if problem is None else 'DOWN':<7} {problem or ''}".rstrip()
            for name, problem in self.parts.items()
        ]
        oldest = f", oldest waiting {self.oldest_waiting_minutes:.0f} min" if self.oldest_waiting_minutes else ""
        out.append(f"{'mail waiting':<14} {self.waiting_mails}{oldest}")
        out.append(f"{'outbox failed':<14} {self.failed_outbox}")
        out.append(f"{'set aside':<14} {self.set_aside_mails}")
        out.append("all well" if self.ok else "NEEDS A PERSON: " + "; ".join(self.problems))
        return out


def check_health(desk: Desk, *, probe_parts: bool = True) -> Health:
    parts = _probe(desk.config) if probe_parts else {}
    now = desk.clock.now()
    with transaction(desk.factory) as session:
        waiting = session.scalar(select(func.count(InboundMessage.id)).where(InboundMessage.status.in_(WAITING)))
        oldest = session.scalar(select(func.min(InboundMessage.received_at)).where(InboundMessage.status.in_(WAITING)))
        failed = session.scalar(select(func.count(OutboxEntry.id)).where(OutboxEntry.status == OutboxStatus.FAILED))
        aside = session.scalar(
            select(func.count(InboundMessage.id)).where(InboundMessage.status == MessageStatus.SET_ASIDE)
        )
    minutes = round((now - _aware(oldest)).total_seconds() / 60, 1) if oldest else None
    health = Health(now, parts, waiting or 0, minutes, failed or 0, aside or 0)
    health.problems = _problems(health, desk.config.health.oldest_mail_minutes)
    return health


def _aware(moment: datetime) -> datetime:
    # func.min() bypasses the column type: SQLite hands back a naive UTC datetime.

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _problems(health: Health, oldest_limit: int) -> list[str]:
    problems = [f"{name} unreachable: {problem}" for name, problem in health.parts.items() if problem]
    if health.oldest_waiting_minutes is not None and health.oldest_waiting_minutes > oldest_limit:
        problems.append(f"a mail has waited {health.oldest_waiting_minutes:.0f} minutes (limit {oldest_limit})")
    if health.failed_outbox:
        problems.append(f"{health.failed_outbox} outbox entries failed for good")
    if health.set_aside_mails:
        problems.append(f"{health.set_aside_mails} mails set aside (see `canceldesk reprocess`)")
    return problems


def _probe(config) -> dict[str, str | None]:

    probes = dict(CHECKS)
    found: dict[str, str | None] = {}
    for name in PARTS:
        try:
            lines = probes[name](config)
        except Exception as exc:  # a part that cannot be reached is a finding, not a crash
            lines = [Line("FAILED", f"{exc.__class__.__name__}: {exc}")]
        # A warning (a part that works, with advice) is for `check`; health asks "does it work?".
        problems = [line.text for line in lines or () if line.status == "FAILED"]
        found[name] = "; ".join(problems) or None
    return found


def serve(desk: Desk, port: int) -> ThreadingHTTPServer:
    """Answer GET /health on 127.0.0.1:`port` from a daemon thread (200 all well, 503 not)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.rstrip("/") != "/health":
                self.send_error(404, "only /health is here")
                return
            health = check_health(desk)
            body = json.dumps(health.as_dict()).encode()
            self.send_response(200 if health.ok else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass  # a monitor polling every minute is not news for the log

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    log.info("health endpoint on http://127.0.0.1:%s/health", server.server_port)
    return server
