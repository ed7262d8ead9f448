"""Every mail to the customer sits in their thread, under their latest mail on the case."""
from __future__ import annotations

from tests.playbook.helpers import later, one_to, run, sent_to, staff_command
from tests.support import mail


def _ids(header) -> list[str]:
    return str(header or "").split()


def test_the_summary_answers_the_customers_latest_mail(desk):
    run(desk, mail(body="Please cancel our SEO service, it is too expensive for us.\n",
                   message_id="<request-1@acme.example>"))
    ack = one_to(desk, "jane@acme.example", "We received")
    # Jane's client keeps In-Reply-To but writes no References (Outlook on the web does this).
    run(desk, mail(subject=f"Re: {ack['Subject']}", body="Can you call me after 2pm?\n",
                   message_id="<reply-2@acme.example>", headers={"In-Reply-To": ack["Message-ID"]}))
    notice = sent_to(desk, "tom@agency.example")[0]
    later(desk)
    staff_command(desk, notice, "#reason price: too expensive\n#offer discount 20% for 3 months\n"
                  "#offer discount accepted\n#saved\n", sender="tom@agency.example")
    summary = one_to(desk, "jane@acme.example", "Summary")
    assert summary["In-Reply-To"] == "<reply-2@acme.example>"
    assert _ids(summary["References"]) == [ack["Message-ID"], "<reply-2@acme.example>"]

