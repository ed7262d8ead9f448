"""classify_intent, extract_services and extract_dates: how customers say what they want."""
from __future__ import annotations

from datetime import date

import pytest

from parsers.dates import extract_dates
from parsers.intent import DEFAULT_PHRASES, classify_intent, extract_services, merge_phrases


@pytest.mark.parametrize('text, kind', [
    ('Please cancel SEO and PPC at the end of March.', 'cancel'),
    ('We would like to terminate our contract.', 'cancel'),
    ('Could you please cancel our contract?', 'cancel'),
    ('Wir möchten unseren Vertrag kündigen.', 'cancel'),
    ('Nous souhaitons résilier notre contrat.', 'cancel'),
    ('Queremos cancelar el servicio.', 'cancel'),
    ('Wij willen ons contract opzeggen.', 'cancel'),
    ('Can we pause everything for two months instead?', 'pause'),
    ('We would like to pause instead of cancelling.', 'pause'),
    ('We need to reduce the budget rather than cancel.', 'change'),
    ('We are not seeing value and got a quote from another agency.', 'at_risk'),
    ("We are talking to another agency and want to cancel.", 'cancel'),
    ("Please disregard my cancellation, we'd like to stay.", 'withdraw'),
    ('Unsubscribe', 'stop'),
    ('STOP', 'stop'),
    ('Thanks for the report!', 'other'),
])
def test_each_intent(text: str, kind: str) -> None:
    assert classify_intent('', text).kind == kind


@pytest.mark.parametrize('text', ['We do NOT want to cancel.', "Don't cancel anything", 'Wir kündigen nicht.',
                                  'Nous ne voulons pas résilier.', 'No queremos cancelar.'])
def test_negated_cancel_means_the_customer_stays(text: str) -> None:
    intent = classify_intent('', text)
    assert intent.kind == 'withdraw' and intent.confidence == 'low'
    assert intent.matched[0].startswith('not: ')


def test_question_about_cancelling_is_at_risk() -> None:
    intent = classify_intent('', 'What happens if I cancel?')
    assert intent == type(intent)('at_risk', ('question: cancel',), 'low')


def test_subject_counts_unless_reply() -> None:
    assert classify_intent('Cancellation', 'Hi, see subject').kind == 'cancel'
    assert classify_intent('Re: Your cancellation is confirmed', 'Thanks!').kind == 'other'


def test_subject_and_text_together_are_high_confidence() -> None:
    assert classify_intent('Cancellation', 'Please cancel SEO.').confidence == 'high'


def test_operator_phrases_extend_and_replace() -> None:
    extended = merge_phrases(DEFAULT_PHRASES, {'cancel': {'en': ('pull the plug',)}})
    assert classify_intent('', 'We pull the plug.', extended).kind == 'cancel'
    assert classify_intent('', 'Please cancel.', extended).kind == 'cancel'
    replaced = merge_phrases(DEFAULT_PHRASES, {'cancel': {'en': ('pull the plug',)}}, replace=True)
    assert classify_intent('', 'Please cancel.', replaced).kind == 'other'


def test_services_list_and_aliases() -> None:
    assert extract_services('cancel SEO and PPC', ['Social', 'PPC', 'SEO']) == ('SEO', 'PPC')
    assert extract_services('cancel seo, not the SEOS', ['SEO']) == ('SEO',)
    assert extract_services('stop Google Ads and social media', {'PPC': ['Google Ads'], 'Social': ['social media']}) \
        == ('PPC', 'Social')
    assert extract_services('nothing here', ['SEO']) == ()


TODAY = date(2026, 11, 22)


@pytest.mark.parametrize('text, expected', [
    ('at the end of March', (date(2027, 3, 31),)),
    ('cancel on 2026-12-31', (date(2026, 12, 31),)),
    ('31 March 2027', (date(2027, 3, 31),)),
    ('March 31', (date(2027, 3, 31),)),
    ('March 31, 2027 please', (date(2027, 3, 31),)),
    ('31/03/2027', (date(2027, 3, 31),)),
    ('zum 31.03.2027 kündigen', (date(2027, 3, 31),)),
    ('end of the month', (date(2026, 11, 30),)),
    ('end of next month', (date(2026, 12, 31),)),
    ('zum Ende März', (date(2027, 3, 31),)),
    ('à la fin mars', (date(2027, 3, 31),)),
    ('a partir del 31 de diciembre', (date(2026, 12, 31),)),
    ('per eind maart', (date(2027, 3, 31),)),
    ('on 31/02/2027 or 2027-01-15', (date(2027, 1, 15),)),
    ('may I ask something', ()),
])
def test_dates(text: str, expected: tuple) -> None:
    assert extract_dates(text, TODAY) == expected


def test_end_of_month_in_that_month_is_this_year() -> None:
    assert extract_dates('end of March', date(2027, 3, 10)) == (date(2027, 3, 31),)


def test_month_first_numeric_dates() -> None:
    assert extract_dates('03/31/2027', TODAY, day_first=False) == (date(2027, 3, 31),)
    assert extract_dates('03/04/2027', TODAY, day_first=False) == (date(2027, 3, 4),)
    assert extract_dates('03/04/2027', TODAY) == (date(2027, 4, 3),)
