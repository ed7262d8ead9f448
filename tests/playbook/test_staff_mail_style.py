"""Staff mail reads in one style: the desk's language and zone, whatever the customer writes.

A German request goes through the pipeline; the team notice, the results of staff's
commands, the approval requests and the timers' reminders are in English (the desk's
language), every day written '1 January 2027', every moment 'Monday, 23 November 2026,
09:00 GMT (UTC+00:00)' in the desk's zone, every amount '£800.00'. An ISO date appears
only where a mail shows staff what to type.
"""
from __future__ import annotations

import re
from datetime import timedelta

from daemon.cli.gallery_requests import REQUESTS
from tests.playbook.helpers import one_to, run, sent, staff_command, text, the_case
from tests.support import mail
from tests.timers.helpers import fire

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# Every moment a staff mail shows, as Babel writes it for the desk (London, in winter).
MOMENT = re.compile(r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{1,2} [A-Z][a-z]+ 20\d\d, "
                    r"\d\d:\d\d GMT \(UTC\+00:00\)")
STAFF = ("amy@agency.example", "tom@agency.example", "dana@agency.example", "acc@agency.example")


def _prose(message) -> str:
    """The body less the lines that show staff a command to type, and the customer's own words."""
    body = message.get_body(("plain",)).get_content()
    body = body.split("Their words:")[0]
    return "\n".join(line for line in body.splitlines() if "#" not in line)


def test_a_german_change_request_gives_staff_one_english_style(desk):
    subject, body = REQUESTS["de"]["change"]
    run(desk, mail(subject=subject, body=body))
    assert the_case(desk).language == "de"
    notice = one_to(desk, "tom@agency.example", "Contract change request from Acme Outdoor Ltd")
    words = text(notice)
    assert "has asked for a contract change" in words
    assert "Received: Monday, 23 November 2026, 09:00 GMT (UTC+00:00)" in words
    assert "Final day asked for: 1 January 2027" in words
    assert "Notice period: 30 days from 23 November 2026" in words
    assert "Earliest final day of service: 23 December 2026" in words

    results = staff_command(desk, notice, "#reason budget: smaller budget next year\n#change PPC to 400.00\n",
                            sender="amy@agency.example")
    assert "PPC changes from £800.00 to £400.00 a month from 1 February 2027" in text(results)
    request = text(one_to(desk, "amy@agency.example", "Approval needed (retention)"))
    assert "Changed: PPC, £800.00 → £400.00 a month from 1 February 2027" in request
    assert "->" not in request and "800.00 " not in request.replace("£800.00", "")

    desk.clock.advance(timedelta(days=2))
    fire(desk)
    reminder = one_to(desk, "amy@agency.example", "Waiting for your approval")
    assert re.search(r"since Monday, 23 November 2026, \d\d:\d\d GMT \(UTC\+00:00\) \(2 days", text(reminder))
    status = staff_command(desk, notice, "#status\n", sender="amy@agency.example")
    assert "Final day: 1 January 2027" in text(status) and "PPC: change (1 February 2027)" in text(status)

    to_staff = [m for m in sent(desk) if any(a in str(m["To"]) for a in STAFF)]
    assert len(to_staff) >= 5
    for message in to_staff:
        prose = _prose(message)
        assert not ISO_DATE.search(prose) and not ISO_DATE.search(str(message["Subject"])), (
            message["Subject"], ISO_DATE.findall(prose))
        # Every time in the mail is written the one way, in the desk's zone.
        assert len(re.findall(r"(?<![+\-\d])\d\d:\d\d", prose)) == len(MOMENT.findall(" ".join(prose.split()))), prose


def test_a_refused_day_is_named_in_prose_and_shown_as_staff_type_it(desk):
    run(desk, mail(body="Please cancel our SEO service.\n"))
    notice = one_to(desk, "tom@agency.example", "Cancellation request from Acme Outdoor Ltd")
    results = text(staff_command(desk, notice, "#cancel SEO on 2026-12-01\n", sender="tom@agency.example"))
    assert ("1 December 2026 is before the earliest final day of service, 23 December 2026 (30 days' notice "
            "from 23 November 2026): write it 2026-12-23 or later") in results
