"""#language: staff choose the language of the customer's mail on a case; an account may have one on file."""
from __future__ import annotations

from sqlalchemy import select

from daemon.db import transaction
from daemon.models import Account
from tests.commands.helpers import open_case, results_for, sent_to, staff_mail, text, the_case
from tests.support import mail
from tests.pipeline.mailkit import run


def _latest_to_jane(desk):
    return sent_to(desk, "jane@acme.example")[-1]


def test_language_sets_the_customers_mail_and_auto_goes_back(desk):
    notice = open_case(desk)   # Jane writes English
    results = text(results_for(desk, staff_mail("#language de\n#call 2026-11-25 15:00\n", answering=notice)))
    assert "written in German from now on" in results
    assert the_case(desk)["details"]["language_chosen"] == "de"
    invite = _latest_to_jane(desk)
    # The desk proposed a call when the case opened: #call moves it.
    assert "Neuer Termin für unser Gespräch" in str(invite["Subject"])
    assert "Mittwoch, 25. November 2026, 15:00" in text(invite)
    # The team still reads English.
    assert "save call" in text(sent_to(desk, "tom@agency.example")[-1])

    results = text(results_for(desk, staff_mail("#language auto\n#call cancel\n", answering=notice)))
    assert "follows their request again (English)" in results
    assert "Cancelled: our call" in str(_latest_to_jane(desk)["Subject"])


def test_an_unknown_language_is_refused_with_the_choices(desk):
    notice = open_case(desk)
    results = text(results_for(desk, staff_mail("#language klingon\n", answering=notice)))
    assert "unknown language 'klingon'" in results and "de, fr, es, nl, pt" in results
    assert "language_chosen" not in the_case(desk)["details"]


def test_help_lists_language(desk):
    assert "#language de|fr|es|nl|pt|en|auto" in text(results_for(desk, staff_mail("#help\n")))


def test_an_accounts_language_wins_over_the_words_of_the_request(desk):
    with transaction(desk.factory) as session:
        session.scalar(select(Account).where(Account.key == "ACME")).language = "fr"
    run(desk, mail(body="Hi,\n\nplease cancel our SEO service at the end of March.\n\nThanks,\nJane\n"))
    ack = sent_to(desk, "jane@acme.example")[0]
    assert "Nous avons bien reçu votre demande de résiliation" in str(ack["Subject"])
    assert "31 mars 2027" in text(ack)
