"""Intent of new mail from customers, through the whole pipeline, in the clients' own formats.

Cancel, pause and change open a case with the services and date written in the mail (in
English, German, French, Spanish, Dutch); an at-risk signal tells the team and opens
nothing; anything else is labelled for a person. Operators tune the phrases in the
configuration, and the other names customers use for a service (`service_aliases`).
"""
from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from daemon.config import from_text
from daemon.schema import ConfigError
from tests.pipeline.mailkit import JANE, TEAM, cases, fixture, mails_of, run, sent, stored
from tests.support import mail


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
    assert {str(m["To"]) for m in sent(desk)} == TEAM   # nothing to Jane


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
