"""A written request that joins the account's case in progress: its scope grows, its writer is
acknowledged and the account's team is told what it adds.

An account has one case in progress at a time, so a second request from the account (a
second contact cancelling another service, a later date, a pause that becomes a
cancellation) becomes part of that case rather than a case of its own. The case then
covers the union of the services asked for, the strongest kind asked for (a cancellation
outranks a change, which outranks a pause) and the latest final day given: the team
decides per service with `#cancel SERVICE on DATE`, and the notice shows which service
came with which date. The contract review is recomputed when the final day moves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases.effects import KIND_LABELS, case_context, format_local, notify_team
from daemon.cases.opening import received_moment, request_details
from daemon.directory import bare
from daemon.mail import mailer
from daemon.mail.compose import Thread
from daemon.models import Case
from daemon.playbook import contract
from daemon.reading.classify import REQUEST_KINDS

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)

# Which kind a case becomes when a request of another kind joins it.
_STRENGTH = {"pause": 1, "change": 2, "cancel": 3}


@dataclass(frozen=True)
class Addition:
    """What one joining mail asks for, and what it changed on the case."""

    writer: str
    kind: str  # what this mail asks for ("" when it names no request kind)
    services: tuple[str, ...]  # the services this mail names
    added: tuple[str, ...]  # of those, the ones the case did not cover yet
    final_day: date | None  # the day this mail gives
    kind_before: str
    final_day_before: date | None

    def changed(self, case: Case) -> bool:
        return bool(self.added) or case.kind != self.kind_before or case.requested_final_day != self.final_day_before


def join(desk: Desk, session: Session, case: Case, mail) -> Addition:
    """Grow `case` by what `mail` asks for, record it, then acknowledge and tell the team."""
    addition = grow(desk, case, mail)
    summary = describe(addition, case)
    cases.record(
        session,
        case,
        "request_joined",
        at=desk.clock.now(),
        actor=mail.sender,
        summary=summary[:300],
        message_id=mail.inbound.id,
    )
    log.info("%s: %s joined: %s", case.reference, mail.sender, summary)
    if addition.changed(case):
        if "contract" in (case.details or {}):
            contract.store(case)
        # Not a workflow step, so no event tells the sheets: they follow the new scope too.
        if (sheets := desk.sheets) is not None:
            sheets.enqueue_case(session, case)
    context = {**case_context(desk, case), **_join_values(desk, addition, case, mail)}
    mailer.send(
        desk,
        session,
        case,
        "join_acknowledgment",
        [mail.sender],
        context,
        dedupe=f"join-ack:{mail.inbound.id}",
        answering=Thread.of(mail.parsed),
        reply=True,
    )
    if addition.changed(case) or bare(mail.sender) != bare(case.requester):
        notify_team(desk, session, case, "join_notice", context, dedupe=f"join:{mail.inbound.id}")
    return addition


def grow(desk: Desk, case: Case, mail) -> Addition:
    """The case's services, kind and final day after `mail` joins it."""
    kind = mail.intent.kind if mail.intent is not None and mail.intent.kind in REQUEST_KINDS else ""
    found = request_details(
        desk,
        mail.parsed.new_text or mail.parsed.text,
        received_moment(desk, mail),
        mail.intent if kind else None,
        case.account,
    )
    services, final_day = found.services, found.final_day
    covered = {service.lower() for service in case.requested_services or []}
    # A case that names no service is about all of them: naming one now must not narrow it.
    added = tuple(s for s in services if s.lower() not in covered) if covered else ()
    addition = Addition(bare(mail.sender), kind, services, added, final_day, case.kind, case.requested_final_day)
    if added:
        case.requested_services = [*case.requested_services, *added]
    if _STRENGTH.get(kind, 0) > _STRENGTH.get(case.kind, 0):
        case.kind = kind
    if final_day and (case.requested_final_day is None or final_day > case.requested_final_day):
        case.requested_final_day = final_day
    return addition


def describe(addition: Addition, case: Case) -> str:
    """One line for the timeline and the log: who asked for what, and what changed."""
    asked = f"{addition.kind or 'a message'}" + (f" of {', '.join(addition.services)}" if addition.services else "")
    asked += f" by {addition.final_day.isoformat()}" if addition.final_day else ""
    changes = [f"services + {', '.join(addition.added)}"] if addition.added else []
    if case.kind != addition.kind_before:
        changes.append(f"kind {addition.kind_before} -> {case.kind}")
    if case.requested_final_day != addition.final_day_before:
        before = addition.final_day_before.isoformat() if addition.final_day_before else "none"
        changes.append(f"final day {before} -> {case.requested_final_day.isoformat()}")
    return f"{addition.writer} asks for {asked}; " + ("; ".join(changes) if changes else "nothing new for the case")


def _join_values(desk: Desk, addition: Addition, case: Case, mail) -> dict:
    """What the acknowledgment and the team notice say beyond the usual case values."""
    zone = case.account.timezone if case.account else desk.config.desk.timezone
    name = mail.contact.name if mail.contact is not None else ""
    return {
        "writer": addition.writer,
        "writer_name": name or addition.writer,
        "asked_kind_label": KIND_LABELS.get(addition.kind, "request"),
        "asked_services": list(addition.services),
        "asked_final_day": addition.final_day.isoformat() if addition.final_day else "",
        "added_services": list(addition.added),
        "kind_before_label": KIND_LABELS.get(addition.kind_before, addition.kind_before),
        "kind_changed": case.kind != addition.kind_before,
        "final_day_changed": case.requested_final_day != addition.final_day_before,
        "final_day_before": addition.final_day_before.isoformat() if addition.final_day_before else "",
        "received": mail.inbound.received_at,
        "received_at": format_local(mail.inbound.received_at, zone),
        "excerpt": (mail.parsed.new_text or mail.parsed.text)[:2000].strip() or "(no text)",
    }
