"""Threading by Message-ID: a mail joins a case only when its sender belongs to that case.

A Message-ID is no secret: everyone on the thread has the customer's, and anyone they
forward a mail to has ours. A stranger who puts one in In-Reply-To gets a mail of their
own judged on its own; a colleague on file for the account joins the case.
"""
from __future__ import annotations

from tests.pipeline.mailkit import JANE, cases, events, open_request, run, sent_to, stored
from tests.support import mail

STRANGER = "Mallory <mallory@evil.example>"


def _reply(sender: str, parent: str, body: str, message_id: str) -> bytes:
    return mail(sender=sender, subject="Re: Cancelling", body=body, message_id=message_id,
                headers={"In-Reply-To": parent, "References": parent})


def test_only_members_of_the_case_join_it_by_message_id(desk):
    case, ack = open_request(desk)
    janes_id = stored(desk)[0].message_key
    run(desk, _reply(STRANGER, janes_id, "Do not cancel, keep everything running.\n", "<m1@evil.example>"),
        _reply(STRANGER, ack["Message-ID"], "Please also cancel the Content service.\n", "<m2@evil.example>"))
    strangers = [m for m in stored(desk) if m.message_key.endswith("@evil.example>")]
    assert [m.case_id for m in strangers if m.case_id == case.id] == []
    assert all(m.label != "case-reply" for m in strangers)
    on_janes = [e for e in events(desk, case.id) if e.actor == "mallory@evil.example"]
    assert on_janes == []
    assert all(c.requester != "mallory@evil.example" or c.account_id is None for c in cases(desk))
    assert not any(case.reference in str(m["Subject"]) for m in sent_to(desk, "mallory@evil.example"))
    # A colleague on file for the account, citing the same thread, joins the case.
    run(desk, _reply("Acme Ops <ops@acme.example>", ack["Message-ID"], "Adding me in copy, thanks.\n",
                     "<ops1@acme.example>"))
    ops = stored(desk)[-1]
    assert (ops.case_id, ops.label) == (case.id, "case-reply")
    assert cases(desk)[0].requester == JANE
