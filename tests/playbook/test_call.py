"""#call moves the save call (same UID, higher SEQUENCE) and cancels it (METHOD:CANCEL)."""
from __future__ import annotations

from tests.playbook.helpers import calendar_of, later, one_to, run, sent_to, staff_command, text, the_case
from tests.support import mail


def test_call_is_moved_then_cancelled_for_everyone_invited(desk):
    run(desk, mail(body="Please cancel all our services at the end of March.\n"))
    notice = sent_to(desk, "tom@agency.example")[0]
    later(desk)
    proposed = calendar_of(one_to(desk, "jane@acme.example", "A call about")).walk("VEVENT")[0]

    past = staff_command(desk, notice, "#call 2026-11-20 10:00\n", sender="amy@agency.example")
    assert "is in the past: give a time to come" in text(past)
    moved = staff_command(desk, notice, "#call 2026-11-25 15:00\n", sender="amy@agency.example")
    assert "call moved to Wednesday, 25 November 2026, 15:00 GMT" in text(moved)
    assert the_case(desk).state == "call_scheduled"
    update = calendar_of(one_to(desk, "jane@acme.example", "New time for our call")).walk("VEVENT")[0]
    assert (str(update["uid"]), update["sequence"]) == (str(proposed["uid"]), 1)
    assert update.decoded("dtstart").isoformat() == "2026-11-25T15:00:00+00:00"
    assert one_to(desk, "sol@agency.example", "New time for our call")

    staff_command(desk, notice, "#call cancel\n", sender="amy@agency.example")
    assert the_case(desk).state == "open"
    cancelled = calendar_of(one_to(desk, "jane@acme.example", "Cancelled: our call"))
    assert str(cancelled["method"]) == "CANCEL"
    assert (str(cancelled.walk("VEVENT")[0]["uid"]), cancelled.walk("VEVENT")[0]["sequence"]) == \
        (str(proposed["uid"]), 2)
    again = staff_command(desk, notice, "#call cancel\n", sender="amy@agency.example")
    assert "there is no call to cancel" in text(again)
