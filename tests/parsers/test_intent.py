"""classify_intent and the dates parser: how customers say what they want."""
from __future__ import annotations

from datetime import date

import pytest

from parsers.dates import asks_for_term_end, extract_dates
from parsers.intent import DEFAULT_PHRASES, MAX_CHARS, classify_intent, merge_phrases


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
    ("We are talking to another agency and want to cancel our contract.", 'cancel'),
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


def test_question_about_what_cancelling_costs_is_at_risk() -> None:
    intent = classify_intent('', 'What happens if I cancel?')
    assert (intent.kind, intent.confidence, intent.readings[0].rule) == ('at_risk', 'low', 'fee or policy question')


def test_subject_counts_unless_reply() -> None:
    assert classify_intent('Cancellation of our contract', 'Hi, see subject').kind == 'cancel'
    assert classify_intent('Re: Your cancellation is confirmed', 'Thanks!').kind == 'other'


def test_subject_and_text_together_are_high_confidence() -> None:
    assert classify_intent('Cancellation of our contract', 'Please cancel SEO.').confidence == 'high'


def test_operator_phrases_extend_and_replace() -> None:
    extended = merge_phrases(DEFAULT_PHRASES, {'cancel': {'en': ('pull the plug',)}})
    assert classify_intent('', 'We pull the plug.', extended).kind == 'cancel'
    assert classify_intent('', 'Please cancel our contract.', extended).kind == 'cancel'
    replaced = merge_phrases(DEFAULT_PHRASES, {'at_risk': {'en': ('meh',)}}, replace=True)
    assert classify_intent('', 'The results are meh.', replaced).kind == 'at_risk'
    assert classify_intent('', 'We are disappointed.', replaced).kind == 'other'


def test_services_list_and_aliases() -> None:
    def services(text, known):
        return classify_intent('', text, services=known).services

    assert services('cancel SEO and PPC', ['Social', 'PPC', 'SEO']) == ('SEO', 'PPC')
    assert services('cancel seo, not the SEOS', ['SEO']) == ('SEO',)
    assert services('stop Google Ads and social media', {'PPC': ['Google Ads'], 'Social': ['social media']}) \
        == ('PPC', 'Social')
    assert services('cancel nothing here', ['SEO']) == ()


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


# -- clause-level reading: an action applied to an object, inside one clause ------------------


@pytest.mark.parametrize('text', [
    'Please delete my account.', 'I want to deactivate my account.', 'Remove my account, please.',
    'We are closing our account with you.', 'We want to get rid of the retainer.', 'Please shut down our account.',
    'We no longer want the SEO service.', "We don't want the retainer anymore.",
    'The company is no good, please terminate my account.', 'I changed my mind, cancel my account',
    'Wir möchten unser Konto löschen.', 'Merci de supprimer mon compte.', 'Je veux fermer mon compte.',
    'Por favor, eliminen mi cuenta.', 'Graag mijn account verwijderen.', 'Quero encerrar o contrato no fim do mês.',
])
def test_requests_in_ordinary_words_and_six_languages(text: str) -> None:
    assert classify_intent('', text).kind == 'cancel'


@pytest.mark.parametrize('typo, real_word', [
    ('i need to cancle my contract', 'The cause of the problem was the account settings.'),
    ('please clsoe my account', 'Those accounts are fine.'),
    ('remoe my account', 'We work remote, the account is fine.'),
    ('we are terminting our agreement', 'The terminal on the account page is slow.'),
    ('ich will den Vertrag kündgen', 'Please reactivate my account.'),
])
def test_one_typo_in_an_action_word_is_read_but_real_words_are_not_typos(typo: str, real_word: str) -> None:
    assert classify_intent('', typo).kind == 'cancel'
    assert classify_intent('', real_word).kind not in ('cancel', 'pause', 'change')


@pytest.mark.parametrize('text, why', [
    ('Please cancel order 44819, wrong size.', 'not ours'),
    ('Can you cancel the transfer I made yesterday?', 'not ours'),
    ('I need to cancel our meeting on Thursday.', 'not ours'),
    ('Please cancel my dinner reservation for Friday.', 'not ours'),
    ('Please freeze my card, it was stolen.', 'not ours'),
    ('Bitte stornieren Sie die Bestellung 5521.', 'not ours'),
    ('My payment has been cancelled.', 'past event'),
    ('The webinar was cancelled by the organisers.', 'past event'),
    ('Our old contract with the printer was cancelled last year.', 'past event'),
    ('A transfer has been made in my account that I need to cancel.', 'not ours'),
])
def test_the_object_decides_whose_business_it_is(text: str, why: str) -> None:
    intent = classify_intent('', text)
    assert intent.kind not in ('cancel', 'pause', 'change')
    assert why in [r.rule for r in intent.readings]


@pytest.mark.parametrize('text, kind', [
    ('Wir kündigen den Vertrag nicht.', 'withdraw'),
    ('We zeggen het contract niet op.', 'withdraw'),
    ('I am not happy, please close my account.', 'cancel'),
    ("Your service isn't great, please delete our account.", 'cancel'),
])
def test_negation_counts_inside_its_clause_before_or_after_the_action(text: str, kind: str) -> None:
    assert classify_intent('', text).kind == kind


def test_changed_my_mind_is_a_withdrawal_only_when_no_request_follows() -> None:
    assert classify_intent('', 'I changed my mind, please cancel our contract.').kind == 'cancel'
    assert classify_intent('', 'Please cancel our contract. Actually, I changed my mind.').kind == 'withdraw'


@pytest.mark.parametrize('text', ['How do I cancel my account?', 'Can I close my account?', 'Where do I cancel?',
                                  'Wie kann ich meinen Vertrag kündigen?', 'Comment résilier mon abonnement ?',
                                  '¿Cómo puedo cancelar mi cuenta?', 'Hoe kan ik mijn abonnement opzeggen?',
                                  'Como faço para cancelar minha conta?', 'Please cancel.'])
def test_questions_about_leaving_are_answered_with_a_question(text: str) -> None:
    intent = classify_intent('', text)
    assert (intent.kind, intent.asks) == ('question', 'cancel')


@pytest.mark.parametrize('text', ['Can you delete my account please?', 'Could you remove our account, please?',
                                  'Können Sie bitte mein Konto löschen?'])
def test_a_polite_request_with_a_question_mark_is_a_request(text: str) -> None:
    assert classify_intent('', text).kind == 'cancel'


@pytest.mark.parametrize('text', ['Is there a cancellation fee?', 'What is your cancellation policy?',
                                  'Gibt es eine Gebühr, wenn wir früher kündigen?',
                                  'If we cancel the PPC, would the SEO price stay the same?'])
def test_fee_and_policy_questions_are_at_risk(text: str) -> None:
    intent = classify_intent('', text)
    assert intent.kind == 'at_risk' and 'fee or policy question' in [r.rule for r in intent.readings]


@pytest.mark.parametrize('text', ['Thanks for the note about the updated cancellation policy.',
                                  'Please send invoices to cancel@agency.example from now on.',
                                  'Broken link: https://agency.example/cancel-account/help',
                                  'Diagnostic-Code: smtp; 550 5.1.1 <cancel-account@acme.example>: user unknown'])
def test_a_topic_an_address_or_a_url_asks_for_nothing(text: str) -> None:
    assert classify_intent('', text).kind not in ('cancel', 'pause', 'change', 'question')


def test_freeze_and_suspend_pause_only_what_is_ours() -> None:
    assert classify_intent('', 'Please freeze my account immediately.').kind != 'pause'
    assert classify_intent('', 'Please suspend the SEO campaigns for a month.').kind == 'pause'


def test_every_decision_keeps_its_clause_action_object_and_rule() -> None:
    intent = classify_intent('', 'Honestly the results are poor, please terminate our contract.')
    (request,) = [r for r in intent.readings if r.rule == 'request']
    assert (request.clause, request.action, request.object, request.kind) == (
        'please terminate our contract.', 'terminate', 'contract', 'cancel')
    assert any('terminate' in line and 'contract' in line for line in intent.explain())


# -- scope: each service by its own clause ----------------------------------------------------


@pytest.mark.parametrize('text, scope, everything', [
    ('Please cancel the PPC but keep SEO running.', {'PPC': 'cancel', 'SEO': 'keep'}, False),
    ('Cancel everything except Social.', {'Social': 'keep'}, True),
    ('Cancel all of it.', {}, True),
    ('Please cancel SEO and PPC.', {'SEO': 'cancel', 'PPC': 'cancel'}, False),
    ('Pause Social for two months, cancel Content.', {'Social': 'pause', 'Content': 'cancel'}, False),
    ('Bitte kündigen Sie die Google Ads Betreuung, SEO möchten wir aber behalten.', {'PPC': 'cancel', 'SEO': 'keep'},
     False),
    ('Nous souhaitons arrêter le référencement.', {'SEO': 'cancel'}, False),
    ('The SEO is not working. Please cancel it.', {'SEO': 'cancel'}, False),
    ('Our SEO results were great this month, please cancel our PPC.', {'PPC': 'cancel'}, False),
])
def test_each_service_named_is_read_by_its_clause(text: str, scope: dict, everything: bool) -> None:
    intent = classify_intent('', text)
    assert dict(intent.scope) == scope and intent.everything is everything
    assert set(intent.kept) == {s for s, v in scope.items() if v == 'keep'}
    assert not set(intent.kept) & set(intent.services)


# -- bounded ----------------------------------------------------------------------------------


def test_only_the_first_max_chars_are_read() -> None:
    text = 'Thanks for the report. ' * 1000 + 'Please cancel our contract.'
    assert classify_intent('', text).kind == 'other'
    assert classify_intent('', text, max_chars=len(text)).kind == 'cancel'


def test_a_ten_megabyte_body_is_read_no_further_than_the_cap(monkeypatch) -> None:
    """Bounded work, not a stopwatch: the clause reader is handed at most `MAX_CHARS` of the body.

    The bench (`bench/understanding.py`) prints how long the same 10 MB body takes.
    """
    import parsers.intent as intent_module

    read: list[int] = []
    real = intent_module.clauses
    monkeypatch.setattr(intent_module, 'clauses', lambda text, *a, **k: (read.append(len(text)), real(text, *a, **k))[1])
    body = ('We would like to cancel the order of brochures, thanks. ' * 200_000)[:10_000_000]
    assert classify_intent('Re: order', body).kind == 'other'
    assert read and sum(read) <= MAX_CHARS + 500  # the subject is read up to 500 characters
    # The same reader with the cap lifted would read all of it: the bound is what keeps it short.
    read.clear()
    classify_intent('Re: order', body[:200_000], max_chars=200_000)
    assert sum(read) > MAX_CHARS


# -- dates: month ends in six languages, the contract's term -----------------------------------


@pytest.mark.parametrize('text', ['zum Monatsende', 'à la fin du mois', 'a fin de mes', 'per einde van de maand',
                                  'até o fim do mês'])
def test_month_end_in_six_languages(text: str) -> None:
    assert extract_dates(text, TODAY) == (date(2026, 11, 30),)


@pytest.mark.parametrize('text', ['when our contract ends', 'at the end of the term', 'after the minimum term',
                                  'We will not renew.', 'zum Ende der Vertragslaufzeit', "à l'échéance du contrat",
                                  'al final del contrato', 'na het einde van de looptijd', 'no fim do contrato'])
def test_contract_relative_dates_ask_for_the_term_end(text: str) -> None:
    assert asks_for_term_end(text)
    assert not asks_for_term_end('at the end of March')


# -- a topic is not a request -----------------------------------------------------------------


@pytest.mark.parametrize('subject, text', [
    ('Abwesenheitsnotiz: Kündigung unseres Vertrags', 'Ich bin bis 2. Dezember nicht im Büro.'),
    ('Automatic reply: Cancel our contract', 'I am out of the office until Monday.'),
    ('Réponse automatique : Résiliation', 'Je suis absente du bureau.'),
    ('Vraag over opzeggen', 'Moet dat schriftelijk?'),
    ('Question about cancelling', 'Do you need it in writing?'),
])
def test_an_auto_reply_or_question_subject_asks_for_nothing(subject: str, text: str) -> None:
    assert classify_intent(subject, text).kind not in ('cancel', 'pause', 'change')


@pytest.mark.parametrize('text', [
    'In dringenden Fällen, auch bei Kündigungen, wenden Sie sich bitte an service@acme.example.',
    'Voor opzeggingen en andere dringende zaken kunt u mailen naar service@acme.example.',
    'Para cancelamentos e outros assuntos urgentes, contacte apoio@acme.example.',
    'For cancellations and other urgent matters please write to service@acme.example.',
])
def test_a_plural_names_a_kind_of_thing_not_a_request(text: str) -> None:
    assert classify_intent('', text).kind == 'other'


@pytest.mark.parametrize('text, scope, everything', [
    ("We'd like to stop the Email service at the end of January; SEO and PPC stay as they are.",
     {'Email': 'cancel', 'SEO': 'keep', 'PPC': 'keep'}, False),
    ('Hiermit kündigen wir den Rahmenvertrag mit allen Leistungen.', {}, True),
])
def test_kept_and_all_services_in_more_words(text: str, scope: dict, everything: bool) -> None:
    intent = classify_intent('', text)
    assert dict(intent.scope) == scope and intent.everything is everything
