"""A desk with a month and a half of cancellations, built the way it happens: by mail.

Customers write (in English, German and French), staff answer with #commands from their
own mail, approvers approve, time passes on the manual clock and timers fire. Nothing is
inserted into the database by hand, so every figure the views show was made by the desk.

What the seed holds, counted by hand (the tests compare the report with this):

  CX-2026-0001  ACME     cancel, November   reason price;    discount offered, accepted  -> saved
  CX-2026-0002  GLOBEX   cancel, November   reason results;  no offer                     -> lost
                         (SEO 900.00 + Website 150.00 lost); SLA reminder and escalation fired
  CX-2026-0003  INITECH  pause,  November   reason budget;   pause offered, accepted      -> paused
                         (PPC 700.00 + Email 250.00 paused); Peter accepted the proposed call
  CX-2026-0004  ACME     cancel, December   reason results;  discount offered, declined   -> partially saved
                         (kept SEO 1200.00 + PPC 800.00, lost Social 450.00 + Content 600.00);
                         retention has not approved: the approval reminder fired, the case is overdue
  CX-2026-0005  unknown sender, December: waits for the customer's identity
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from daemon import timers

from tests.playbook.helpers import calendar_reply, later, one_to, run, sent_to, staff_command, text
from tests.support import mail

DECEMBER = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)   # a Monday


def _notice(desk, sender: str, subject: str, body: str, lead: str = "tom@agency.example"):
    before = {m["Message-ID"] for m in sent_to(desk, lead)}
    run(desk, mail(sender=sender, subject=subject, body=body))
    return next(m for m in sent_to(desk, lead) if m["Message-ID"] not in before and " request from " in m["Subject"])


def _approve(desk, notice, *who_step: tuple[str, str]) -> None:
    reference = str(notice["Subject"]).split("[", 1)[1].split("]", 1)[0]
    for who, step in who_step:
        request, = [m for m in sent_to(desk, f"{who}@agency.example", f"Approval needed ({step})")
                   if reference in str(m["Subject"])]
        result = text(staff_command(desk, request, "#approve\n", sender=f"{who}@agency.example"))
        assert f"approved as {step}" in result, result


def _later_with_timers(desk, hours: float) -> None:
    """Time passes and the timers due by then fire, as the scheduler would fire them."""
    desk.clock.advance(timedelta(hours=hours))
    timers.run_due_timers(desk)
    run(desk)


CHAIN = (("amy", "retention"), ("dana", "director"), ("acc", "accounting"))


def seed(desk) -> None:
    acme = _notice(desk, "Jane Doe <jane@acme.example>", "Cancelling SEO",
                   "Hi, please cancel our SEO service, it has become too expensive for us.\n\nJane\n")
    later(desk, 1)
    staff_command(desk, acme, "#reason price: too expensive after the budget cut\n"
                              "#offer discount 20% for 3 months\n#offer discount accepted\n#saved\n",
                  sender="amy@agency.example")

    globex = _notice(desk, "Hank Scorpio <hank@globex.example>", "Kündigung",
                     "Hallo, hiermit kündigen wir alle Leistungen zum Vertragsende.\n\nHank\n")
    _later_with_timers(desk, 30)   # past the first business day: the SLA reminder fires
    _later_with_timers(desk, 30)   # past the second: the escalation
    staff_command(desk, globex, "#reason results: no new patients from the ads\n#lost\n",
                  sender="amy@agency.example")
    _approve(desk, globex, *CHAIN)

    initech = _notice(desk, "Peter Gibbons <peter@initech.example>", "Pause",
                      "Bonjour, nous voudrions suspendre nos services pendant trois mois, le budget est serré.\n")
    later(desk, 12)   # the proposed call goes out; Peter accepts it from his calendar
    run(desk, calendar_reply(one_to(desk, "peter@initech.example", "Un échange au sujet"), "peter@initech.example",
                             "ACCEPTED", name="Peter Gibbons"))
    staff_command(desk, initech, "#reason budget: cash flow\n#offer pause 3 months\n#offer pause accepted\n"
                                 "#pause until 2027-03-01\n", sender="amy@agency.example")
    _approve(desk, initech, *CHAIN)

    desk.clock.set(DECEMBER)
    again = _notice(desk, "Jane Doe <jane@acme.example>", "Cancel everything",
                    "We would like to cancel all our services with you.\n")
    later(desk, 3)
    staff_command(desk, again, "#reason results: social never took off\n#offer discount 10%\n"
                               "#offer discount declined\n#keep SEO, PPC\n#cancel Social, Content on 2027-03-31\n",
                  sender="amy@agency.example")
    _later_with_timers(desk, 30)   # retention does not answer: the approval reminder chases Amy
    run(desk, mail(sender="Jane (personal) <jane.doe@gmail.example>", subject="cancel",
                   body="Please cancel my agency contract.\n"))
