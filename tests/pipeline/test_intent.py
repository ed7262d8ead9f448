"""Intent of new mail from customers, through the whole pipeline, in the clients' own formats.

Cancel, pause and change open a case with the services and date written in the mail (in
English, German, French, Spanish, Dutch); an at-risk signal tells the team and opens
nothing; anything else is labelled for a person. Operators tune the phrases in the
configuration, and the other names customers use for a service (`service_aliases`).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.utils import format_datetime
from pathlib import Path
from types import MappingProxyType

import pytest

from daemon.app import make_source
from daemon.config import from_text
from daemon.schema import ConfigError
from daemon.intake.watcher import Watcher
from integrations.maildir import deliver
from tests.pipeline.mailkit import JANE, TEAM, cases, fixture, mails_of, readers, run, sent, stored, text_of
from tests.support import START, mail


@pytest.mark.parametrize("name, kind, services, final_day", [
    ("german_cancellation", "cancel", ["SEO"], "2027-03-31"),
    ("french_cancellation", "cancel", ["SEO"], "2027-03-31"),   # 'référencement' is SEO in French
    ("spanish_cancellation", "cancel", ["PPC"], "2026-12-31"),
    ("dutch_cancellation", "cancel", ["Social"], "2027-03-31"),
    ("html_only_reply", "cancel", ["Social"], None),
    ("apple_mail_reply", "pause", ["SEO", "PPC", "Social", "Content"], None),   # 'everything': all on the account
    ("thunderbird_reply", "change", ["Content"], None),   # "from January" starts, it ends nothing
])
def test_request_from_a_contact_opens_a_case_with_what_it_asks(desk, name, kind, services, final_day):
    run(desk, fixture(name, From=f"Jane Doe <{JANE}>"))
    (case,) = cases(desk)
    assert (case.kind, case.state, case.account.key) == (kind, "open", "ACME")
    assert case.requested_services == services
    assert (case.requested_final_day.isoformat() if case.requested_final_day else None) == final_day
    assert stored(desk)[-1].label == f"request:{kind}"
    assert [m["To"] for m in mails_of(desk, "acknowledgment")] == [JANE]


def test_at_risk_mail_tells_the_team_and_opens_nothing(desk):
    run(desk, mail(subject="Results", body="Honestly we are not happy with the results and got a quote from "
                                            "another agency.\n"))
    assert cases(desk) == []
    row = stored(desk)[-1]
    assert row.label == "at-risk"
    assert readers(sent(desk)) == TEAM   # nothing to Jane


@pytest.mark.parametrize("body, why", [
    ("Thanks for the report last week, looks great!\n", "other"),
    ("What happens if I cancel before the term ends?\n", "at_risk"),   # a question about it: for a person
    ("We do NOT want to cancel, just checking the invoice.\n", "withdraw"),
])
def test_anything_else_from_a_contact_is_labelled_for_a_person(desk, body, why):
    run(desk, mail(subject="Hello", body=body))
    assert cases(desk) == [] and [m for m in sent(desk) if JANE in str(m["To"])] == []
    row = stored(desk)[-1]
    assert row.label in ("for-a-person", "at-risk") and (why in row.label_reason or row.label == "at-risk")


def test_unknown_sender_thanks_is_labelled_and_unanswered(desk):
    run(desk, fixture("thunderbird_reply").replace(b"We need to reduce the budget for Content from January.",
                                                  b"Thanks for the newsletter."))
    row = stored(desk)[-1]
    assert (row.label, row.label_reason) == ("for-a-person", "not a request (other) from an unknown sender: "
                                                              "left for a person")
    assert sent(desk) == []


def _phrases(desk, phrases, extend=True):
    frozen = MappingProxyType({k: MappingProxyType({lang: tuple(p) for lang, p in v.items()})
                               for k, v in phrases.items()})
    desk.config = replace(desk.config, intent=replace(desk.config.intent, phrases=frozen,
                                                      extend_default_phrases=extend))


def test_operator_phrases_extend_the_built_in_ones(desk):
    _phrases(desk, {"cancel": {"en": ["pull the plug"]}})
    run(desk, mail(subject="Decision", body="We have decided to pull the plug on SEO.\n"),
        mail(sender="Hank <hank@globex.example>", subject="Decision", body="We want to terminate our contract.\n"))
    assert [(c.kind, c.account.key, c.requested_services) for c in cases(desk)] == [
        ("cancel", "ACME", ["SEO"]), ("cancel", "GLOBEX", [])]


def test_operator_phrases_can_replace_a_languages_built_in_ones(desk):
    # Requests are read by grammar, always; the phrases a doubting customer uses are a list to replace.
    _phrases(desk, {"at_risk": {"en": ["meh"]}}, extend=False)
    run(desk, mail(subject="Results", body="We are disappointed with the results.\n"),
        mail(sender="Hank <hank@globex.example>", subject="Ergebnisse", body="Wir sind unzufrieden.\n"))
    assert [row.label for row in stored(desk)] == ["for-a-person", "at-risk"]   # German kept its own


def _aliases(desk, aliases):
    frozen = MappingProxyType({service: tuple(names) for service, names in aliases.items()})
    desk.config = replace(desk.config, intent=replace(desk.config.intent, service_aliases=frozen))


def test_service_aliases_are_read_as_the_service(desk):
    _aliases(desk, {"SEO": ["search engine optimisation", "référencement"], "PPC": ["Google Ads", "paid search"]})
    run(desk, mail(subject="Cancelling", body="Please cancel our Google Ads and the search engine\n"
                                              "optimisation at the end of March.\n"),
        mail(sender="Peter <peter@initech.example>", subject="Résiliation",
             body="Nous souhaitons résilier le référencement.\n"))
    assert [(c.account.key, c.requested_services) for c in cases(desk)] == [("ACME", ["PPC", "SEO"]),
                                                                           ("INITECH", ["SEO"])]
    assert cases(desk)[0].requested_final_day.isoformat() == "2027-03-31"


def test_without_aliases_other_names_are_not_services(desk):
    run(desk, mail(subject="Cancelling", body="Please cancel our contract, TikTok ads included.\n"))
    assert [c.requested_services for c in cases(desk)] == [[]]


def test_an_alias_of_a_service_not_sold_is_a_configuration_error():
    with pytest.raises(ConfigError, match=r"^intent\.service_aliases\.SEA: not one of intent\.services"):
        from_text('[intent]\nservice_aliases = { SEA = ["Google Ads"] }\n')
    loaded = from_text('[intent.service_aliases]\nPPC = ["Google Ads"]\n')
    assert loaded.intent.service_aliases["PPC"] == ("Google Ads",)


# -- dates from arrival: the received moment, not the processing time ---------------------------

FRIDAY = START - timedelta(days=3)   # the mail reached our server on Friday; the daemon was down until Monday


def _trusted(desk):
    desk.config = replace(desk.config, auth=replace(desk.config.auth, authserv_ids=("mx.agency.example",)))


def _received_by_us(raw: bytes, moment: datetime, host: str = "mx.agency.example") -> bytes:
    """Our receiving server's trace header on top, as Postfix writes it."""
    return (f"Received: from mail.acme.example (mail.acme.example [203.0.113.7])\r\n\tby {host} (Postfix) "
            f"with ESMTPS id 4QXYZ\r\n\tfor <cancel@agency.example>; {format_datetime(moment)}\r\n").encode() + raw


def _contract(case) -> dict:
    return case.details["contract"]


def test_a_mail_processed_three_days_after_arrival_keeps_its_arrival_based_final_day(desk):
    _trusted(desk)
    run(desk, _received_by_us(mail(body="Please cancel our contract.\n", date=FRIDAY), FRIDAY))
    (case,) = cases(desk)
    assert (_contract(case)["notice_date"], _contract(case)["final_day"]) == ("2026-11-20", "2026-12-20")
    (ack,) = mails_of(desk, "acknowledgment")
    assert "Friday, 20 November 2026" in text_of(ack)


def test_the_topmost_received_header_written_by_our_own_server_counts(desk):
    _trusted(desk)
    forged_below = _received_by_us(mail(body="Please cancel our contract.\n"), FRIDAY - timedelta(days=30))
    ours = _received_by_us(forged_below, FRIDAY)
    relayed_on_top = _received_by_us(ours, START, host="relay.elsewhere.example")
    run(desk, relayed_on_top)
    assert _contract(cases(desk)[0])["notice_date"] == "2026-11-20"


def test_relative_dates_count_from_arrival(desk):
    _trusted(desk)
    arrived = datetime(2026, 10, 30, 16, 0, tzinfo=timezone.utc)
    run(desk, _received_by_us(mail(body="Please cancel the SEO at the end of the month.\n", date=arrived), arrived))
    (case,) = cases(desk)
    assert case.requested_final_day.isoformat() == "2026-10-31"   # October's end, not November's
    assert _contract(case)["notice_date"] == "2026-10-30"


def test_without_a_trusted_header_the_maildir_delivery_time_counts(desk):
    path = Path(deliver(desk.config.path("inbox"), mail(body="Please cancel our contract.\n")))
    path.rename(path.with_name(f"{int(FRIDAY.timestamp())}.M1P1.mx"))   # the delivery agent's own name
    Watcher(desk, make_source(desk.config)).run_once()
    assert _contract(cases(desk)[0])["notice_date"] == "2026-11-20"


def test_a_date_in_the_signature_is_not_the_final_day_asked_for(desk):
    body = "Please cancel our contract.\n\nJane\nOffice closed 24 December 2026 - 2 January 2027\n"
    run(desk, mail(subject="Cancellation", body=body))
    assert cases(desk)[0].requested_final_day is None


def test_when_our_contract_ends_asks_for_the_term_end(desk):
    run(desk, mail(body="We would like to end our agreement when our contract ends.\n"))
    (case,) = cases(desk)
    assert (_contract(case)["term_end"], _contract(case)["final_day"]) == ("2027-02-28", "2027-02-28")
    assert _contract(case)["early_termination"] is False


# -- scope: kept services are kept; a service not on the account is named back -------------------


def test_kept_services_are_recorded_as_kept_and_never_in_scope(desk):
    run(desk, mail(body="Please cancel the PPC but keep SEO running.\n"))
    (case,) = cases(desk)
    assert case.requested_services == ["PPC"] and case.scope["kept"] == ["SEO"]
    (ack,) = mails_of(desk, "acknowledgment")
    assert "You keep: SEO" in text_of(ack)


def test_a_service_not_on_the_account_is_named_back_to_the_customer_and_staff(desk):
    run(desk, mail(body="Please cancel SEO and the website.\n"))   # ACME has no website item on file
    (case,) = cases(desk)
    assert case.scope["unmatched"] == ["Website"]
    (ack,) = mails_of(desk, "acknowledgment")
    assert "We could not match Website to your plan" in text_of(ack)
    assert any("NOT ON THE ACCOUNT: Website" in text_of(m) for m in sent(desk) if "tom@agency.example" in str(m["To"]))


# -- a question sent to the desk is answered with a question ----------------------------------------


def _ask(desk, body="Hi, how do I cancel my account with you?\n"):
    question = mail(subject="Question", body=body)
    run(desk, question)
    return question


def test_a_question_about_leaving_is_answered_and_the_team_told(desk):
    question = _ask(desk)
    (case,) = cases(desk)
    assert (case.kind, case.state, stored(desk)[-1].label) == ("cancel", "awaiting_written", "question")
    (asked,) = mails_of(desk, "confirm_request")
    assert asked["To"] == JANE and asked["In-Reply-To"] == message_from_bytes(question)["Message-ID"]
    assert "Reply YES to make this your written request, or tell us what you need" in text_of(asked)
    notices = [m for m in sent(desk) if readers([m]) & TEAM]
    assert readers(notices) == TEAM and all("At risk" in str(m["Subject"]) for m in notices)
    assert mails_of(desk, "acknowledgment") == []


def test_yes_makes_the_question_the_written_request_dated_from_the_question(desk):
    _ask(desk)
    (asked,) = mails_of(desk, "confirm_request")
    desk.clock.advance(timedelta(days=2))
    run(desk, mail(subject=f"Re: {asked['Subject']}", body="Yes please.\n",
                   headers={"In-Reply-To": asked["Message-ID"], "References": asked["Message-ID"]}))
    (case,) = cases(desk)
    assert case.state == "open" and case.verified
    assert _contract(case)["notice_date"] == "2026-11-23"   # the question's day, not the YES two days later
    assert [m["To"] for m in mails_of(desk, "acknowledgment")] == [JANE]


def test_a_clear_request_later_from_the_same_sender_is_the_written_request(desk):
    _ask(desk)
    desk.clock.advance(timedelta(days=1))
    run(desk, mail(subject="Cancellation", body="Please cancel our contract and the SEO.\n"))
    (case,) = cases(desk)
    assert (case.state, case.requested_services, _contract(case)["notice_date"]) == ("open", ["SEO"], "2026-11-23")


def test_only_asking_changes_nothing(desk):
    _ask(desk)
    (asked,) = mails_of(desk, "confirm_request")
    run(desk, mail(subject=f"Re: {asked['Subject']}", body="No thanks, I was only asking for a colleague.\n",
                   headers={"In-Reply-To": asked["Message-ID"], "References": asked["Message-ID"]}))
    assert cases(desk)[0].state == "awaiting_written" and mails_of(desk, "acknowledgment") == []


def test_a_fee_question_goes_to_a_person_with_the_at_risk_notice_and_no_case(desk):
    run(desk, mail(subject="Fee", body="Is there a cancellation fee if we leave before the minimum term?\n"))
    assert cases(desk) == [] and stored(desk)[-1].label == "at-risk"
    assert readers(sent(desk)) == TEAM
