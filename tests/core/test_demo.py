"""`canceldesk demo` (what `make run` starts from): it works twice, and the demo agrees with itself."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from daemon.cli import demo
from daemon.cases import effects
from daemon.accounts_import import import_rows, read_rows
from daemon.app import build_desk, ensure_dirs, make_source
from daemon.clock import ManualClock
from daemon.commands.base import ANY_STAFF
from daemon.commands.base import allowed_roles
from daemon.commands.registry import lookup
from daemon.config import from_text, load
from daemon.db import transaction
from daemon.directory import StaffDirectory
from daemon.intake.watcher import Watcher
from tests.pipeline.mailkit import run, sent, sent_to, text_of
from tests.support import EXAMPLE_ACCOUNTS, REPO, START, database_rows, load_example_accounts, mail


def _handle_inbox(config_path):
    desk = build_desk(load(config_path), clock=ManualClock(START))
    try:
        report = Watcher(desk, make_source(desk.config)).run_once()
        return report, database_rows(desk)
    finally:
        desk.engine.dispose()


def test_a_second_demo_after_its_mail_was_handled_changes_nothing(tmp_path, caplog):
    folder = tmp_path / "var"
    config_path = demo.set_up(folder)
    first, handled = _handle_inbox(config_path)
    assert (first.stored, first.processed) == (5, 5) and first.sent > 0
    outbox = sorted(p.name for p in (folder / "outbox").iterdir())

    with caplog.at_level(logging.INFO, logger="daemon.cli.demo"):
        assert demo.set_up(folder) == config_path
    assert "imported 3 accounts (3 unchanged)" in caplog.text
    assert not list((folder / "inbox" / "new").iterdir())  # the demo mail is not dropped in again

    again, after = _handle_inbox(config_path)
    assert (again.stored, again.processed, again.sent) == (0, 0, 0)
    assert after == handled
    assert sorted(p.name for p in (folder / "outbox").iterdir()) == outbox


# -- the demo agrees with itself ------------------------------------------------------------

def test_everyone_the_demo_accounts_name_is_demo_staff_allowed_what_their_mail_asks_of_them():
    desk_config = from_text(demo.DEMO_CONFIG)
    staff = StaffDirectory(desk_config.staff.members)
    as_desk = SimpleNamespace(config=desk_config)
    deciders = allowed_roles(as_desk, lookup("cancel"))     # what the team notice asks leads to do
    tickers = allowed_roles(as_desk, lookup("done"))        # what an offboarding item asks its owner
    rows = read_rows(EXAMPLE_ACCOUNTS)
    assert len(rows) == 3
    for row in rows:
        for column in ("account_manager", "team_lead"):
            member = staff.get(row[column])
            assert member is not None, f"{row['account_id']} {column} {row[column]} is not demo staff"
            assert member.roles & deciders, f"{row[column]} may not decide the cases of {row['account_id']}"
        assert "account_manager" in staff.get(row["account_manager"]).roles
        assert "team_lead" in staff.get(row["team_lead"]).roles
        for address in re.findall(r"[\w.+-]+@[\w.-]+", row["team"]):
            member = staff.get(address)
            assert member is not None, f"{row['account_id']} team member {address} is not demo staff"
            assert tickers & ANY_STAFF or member.roles & tickers


def _times(text: str) -> set[str]:
    """Every time a mail shows, by its zone: {'GMT (UTC+00:00)', ...}."""
    return set(re.findall(r"\d{1,2}:\d{2} ([A-Z]{2,5}[+-]?\d* \(UTC[+-]\d{2}:\d{2}\))", text))


def _zone_faces(zone: str) -> set[str]:
    """How `zone` is written in winter and in summer."""
    return {re.search(r"\d{2}:\d{2} (.*)$", effects.format_local(datetime(2026, month, 15, 12, tzinfo=timezone.utc),
                                                                zone)).group(1)
            for month in (1, 7)}


def test_the_demo_sets_one_zone_for_the_desk_and_its_business_hours():
    config = from_text(demo.DEMO_CONFIG)
    assert config.desk.timezone == config.business.timezone == "Europe/London"


# The demo as it is, and with business hours counted in another zone than the desk's (the
# demo's own configuration once did that): either way staff read the desk's zone.
@pytest.mark.parametrize("business_zone", ["Europe/London", "UTC"])
def test_staff_read_every_time_in_the_one_desk_zone_customers_in_their_own(tmp_path, business_zone):
    text = demo.DEMO_CONFIG.replace('[business]\ntimezone = "Europe/London"', f'[business]\ntimezone = "{business_zone}"')
    config = from_text(text, tmp_path)
    assert config.business.timezone == business_zone
    ensure_dirs(config)
    desk = build_desk(config, clock=ManualClock(START))
    load_example_accounts(desk)
    run(desk, *[(REPO / "docs" / "demo" / name).read_bytes() for name in ("01-cancellation.eml", "02-pause.eml")])
    desk.clock.advance(timedelta(hours=4))       # the call invitations wait a little after the notices
    run(desk)
    mails = sent(desk)
    to_staff = [m for m in mails if str(m["To"]) in desk.staff]
    assert {m["Subject"].split(":")[0] for m in to_staff} >= {"Cancellation request from Acme Outdoor Ltd [CX-2026-0001]",
                                                              "A call about your cancellation request"}
    desk_faces = _zone_faces(config.desk.timezone)
    for msg in to_staff:
        shown = _times(msg["Subject"] + " " + text_of(msg))
        assert shown and shown <= desk_faces, (msg["To"], msg["Subject"], shown)
    (peter_ack,) = [m for m in mails if str(m["To"]) == "peter@initech.example" and "received" in m["Subject"]]
    assert _times(text_of(peter_ack)) <= _zone_faces("Europe/Berlin")   # Initech's own zone
    desk.engine.dispose()


def test_only_staff_are_invited_to_reply_with_commands(desk):
    with transaction(desk.factory) as session:
        report = import_rows(session, [{
            "account_id": "HOOLI", "name": "Hooli", "timezone": "Europe/London", "account_manager": "amy@agency.example",
            "team_lead": "tom@agency.example", "contacts": "Gavin <gavin@hooli.example>",
            "team": "SEO: sam@agency.example; Social: fiona@freelance.example", "billing_items": "H-1 SEO 2500.00"}])
    assert not report.problems
    run(desk, mail(sender="Gavin <gavin@hooli.example>", subject="Notice", body="Please cancel our Social service.\n"))
    desk.clock.advance(timedelta(hours=4))
    run(desk)
    staff_notice = text_of(one(sent_to(desk, "sam@agency.example"), "Cancellation request"))
    freelancer_notice = text_of(one(sent_to(desk, "fiona@freelance.example"), "Cancellation request"))
    assert "Reply to this mail with #commands" in staff_notice
    assert "#" not in freelancer_notice and "Their words: Please cancel our Social service." in freelancer_notice
    assert "#call" in text_of(one(sent_to(desk, "sam@agency.example"), "A call about"))
    assert "#" not in text_of(one(sent_to(desk, "fiona@freelance.example"), "A call about"))
    # The team is told together, in one mail per kind of reader, not in a copy per person.
    for subject in ("Cancellation request", "A call about"):
        told = sorted(sorted(a.addr_spec for a in m["To"].addresses) for m in sent(desk)
                      if m["Subject"].startswith(subject) and str(m["To"]) != "gavin@hooli.example")
        assert told == [["amy@agency.example", "sam@agency.example", "tom@agency.example"], ["fiona@freelance.example"]]


def one(mails, subject_start: str):
    (found,) = [m for m in mails if m["Subject"].startswith(subject_start)]
    return found
