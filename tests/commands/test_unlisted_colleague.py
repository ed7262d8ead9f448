"""A colleague on the agency's own domain who is not configured as staff reads staff text, and the operator hears once."""
from __future__ import annotations

from dataclasses import replace

import pytest

from tests.commands.helpers import command_desk, open_case, results_for, run, sent_to, staff_mail, text

OPERATOR = "ops@agency.example"
NINA = "nina@agency.example"


@pytest.fixture
def desk(database_url, tmp_path):
    built = command_desk(tmp_path, database_url)
    built.config = replace(built.config, desk=replace(built.config.desk, operator=OPERATOR))
    yield built
    built.engine.dispose()


def test_a_colleague_not_configured_as_staff_is_told_to_ask_the_operator(desk):
    notice = open_case(desk)
    body = text(results_for(desk, staff_mail("Hi,\n\n#status\n#cancel SEO\n\nNina\n", answering=notice,
                                             sender=f"Nina Neu <{NINA}>"), NINA))
    assert "not configured as staff" in body and OPERATOR in body
    assert "own words" not in body      # the customers' refusal says "tell us in your own words"


def test_a_colleagues_plain_mail_gets_staff_text_and_the_operator_is_told_once(desk):
    run(desk, staff_mail("Hello, how do I see the open cases?\n\nNina\n", sender=f"Nina Neu <{NINA}>",
                         subject="Open cases?"))
    run(desk, staff_mail("And can I get the weekly report?\n", sender=f"Nina Neu <{NINA}>", subject="Report"))
    answers = [text(m) for m in sent_to(desk, NINA)]
    assert len(answers) == 2 and all("not configured as staff" in a and OPERATOR in a for a in answers)
    told = sent_to(desk, OPERATOR)
    assert len(told) == 1 and NINA in str(told[0]["Subject"]) and NINA in text(told[0])

