"""#status tells staff where a case stands: decisions, approval steps and real pending timers."""
from __future__ import annotations

from tests.playbook.helpers import run, sent_to, staff_command, text
from tests.support import mail


def test_status_after_decisions_shows_decisions_approvals_and_timers(desk):
    run(desk, mail(body="We would like to cancel all our services with you.\n"))
    notice = sent_to(desk, "tom@agency.example")[0]
    body = text(staff_command(desk, notice, "#keep SEO, PPC\n#cancel Social, Content on 2027-03-31\n#status\n",
                              sender="amy@agency.example"))
    assert "SEO: keep by amy@agency.example" in body
    assert "Social: cancel (31 March 2027) by amy@agency.example" in body
    assert "retention: asked" in body and "director: waiting" in body and "accounting: waiting" in body
    # the real timetable, in the reader's zone
    assert "approval reminder due Tuesday, 24 November 2026, 09:00 GMT" in body
