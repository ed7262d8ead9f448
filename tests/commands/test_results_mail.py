"""The results mail as a member of staff reads it: only what they asked, each answer on its own."""
from __future__ import annotations

from tests.commands.helpers import open_case, results_for, staff_mail, text


def results_text(desk, body: str) -> str:
    notice = open_case(desk)
    return text(results_for(desk, staff_mail(body, answering=notice))).replace("\r\n", "\n")

# How staff really write to the desk: a greeting, the commands, a sign-off and a signature.
REPLY = """Hi team,

#note Jane called, she is comparing prices
#status
#help

Thanks!
Amy

--
Amy Example
Account manager
"""


def test_greeting_and_signature_are_not_listed_as_ignored(desk):
    body = results_text(desk, REPLY)
    for line in ("Hi team,", "Thanks!", "Amy Example", "Account manager"):
        assert line not in body
    assert "Ignored" not in body


def test_each_answer_stands_on_its_own_and_help_has_its_own_section(desk):
    body = results_text(desk, REPLY)
    sections = body.split("\n\n")
    status = next(s for s in sections if "State:      open" in s)
    help_ = next(s for s in sections if "#note TEXT" in s)
    assert status != help_
    assert "#note TEXT" not in status and "State:" not in help_
    assert help_.splitlines()[0].startswith("Commands you may use")
    assert "\n\n\n" not in body


def test_a_line_meant_as_a_command_but_not_written_as_one_is_pointed_out(desk):
    body = results_text(desk, "Hello,\n\n/status\n#note called her\n\nAmy\n")
    assert "/status" in body and "Hello," not in body


def test_a_reply_to_a_mail_without_references_keeps_its_parent_in_references(desk):
    notice = open_case(desk)
    # Some clients write In-Reply-To alone: the thread above is then that one parent.
    raw = staff_mail("#note called her\n", message_id="<cmd-9@agency.example>",
                     subject=f"Re: {notice['Subject']}", headers={"In-Reply-To": notice["Message-ID"]})
    results = results_for(desk, raw)
    assert str(results["References"]).split() == [notice["Message-ID"], "<cmd-9@agency.example>"]
