"""Every mail a customer receives, in the language they wrote in, through the real flow.

For each language and each kind, the request of daemon.cli.gallery_requests goes through the
whole pipeline; the customer then writes again (joining the case) and tries a command,
staff cancel the proposed call, decide, approve, and the timers carry the case on (closure,
thank-you, feedback, both win-back letters; a pause's resume reminder). A sender not on
file, a question and a call staff took by phone give the other customer mails. Each mail
must be in the customer's language (the desk's own detector reads it), name the right
dates (as that language writes them) and services, and hold no placeholder, no "None", no
ISO date and no doubled blank line.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from babel.dates import format_date
from sqlalchemy import select

from daemon.config import OffersConfig, WinbackConfig
from daemon.db import transaction
from daemon.cli.gallery_requests import EXPECTED, KINDS, REQUESTS
from daemon.models import Account, Case
from daemon.mail.rendering import CUSTOMER_TEMPLATES
from parsers.language import LANGUAGES, detect_language
from tests.commands.helpers import AUTH
from tests.pipeline.mailkit import mails_of, run, sent, text_of
from tests.support import START, mail
from tests.timers.helpers import approve_and_offboard, cancel_services, fire, pause_until, pending, tick_all_items
from tests.timers.helpers import timer_desk

UTC = timezone.utc
JANE = "Jane Doe <jane@acme.example>"
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
QUESTIONS = {
    "en": "Hello,\n\nhow would we go about cancelling our account with you? We are looking at our options for "
          "next year.\n\nJane\n",
    "de": "Guten Tag,\n\nwie würden wir vorgehen, wenn wir unser Konto bei Ihnen kündigen möchten? Wir prüfen "
          "gerade unsere Möglichkeiten für das nächste Jahr.\n\nViele Grüße\nJane\n",
    "fr": "Bonjour,\n\ncomment pouvons-nous résilier notre compte chez vous, et quel est le préavis à respecter ?\n\n"
          "Cordialement,\nJane\n",
    "es": "Hola:\n\n¿cómo podemos cancelar nuestra cuenta con ustedes y con cuánta antelación tenemos que avisar?\n\n"
          "Un saludo,\nJane\n",
    "nl": "Goedendag,\n\nhoe zouden wij ons account bij u kunnen opzeggen? Wij bekijken op dit moment onze "
          "mogelijkheden voor volgend jaar.\n\nGroet,\nJane\n",
    "pt": "Olá,\n\ncomo faríamos para cancelar a nossa conta com vocês? Estamos avaliando as nossas opções para o "
          "próximo ano.\n\nAbraços,\nJane\n",
}
QUESTION_SUBJECTS = {"en": "Question", "de": "Frage", "fr": "Question", "es": "Pregunta", "nl": "Vraag",
                     "pt": "Pergunta"}
# A customer who writes command lines (they are refused) in their own words around them.
COMMAND_TRIES = {
    "en": "Hi,\n\n#approve\n\nthis should speed things up, thanks.\n\nJane\n",
    "de": "Hallo,\n\n#approve\n\ndamit sollte es schneller gehen, vielen Dank für Ihre Mühe.\n\nJane\n",
    "fr": "Bonjour,\n\n#approve\n\ncela devrait accélérer les choses, merci beaucoup pour votre aide.\n\nJane\n",
    "es": "Hola:\n\n#approve\n\nasí debería ir más rápido, muchas gracias por su ayuda.\n\nJane\n",
    "nl": "Hallo,\n\n#approve\n\ndan gaat het vast sneller, hartelijk dank voor uw hulp.\n\nJane\n",
    "pt": "Olá,\n\n#approve\n\nassim deve ficar mais rápido, muito obrigada pela ajuda.\n\nJane\n",
}


# How each language's built-in win-back offer for "price" begins: written in that language.
EXPECTED_PRICE_OFFER = {"en": "20% off", "de": "20\u00a0% Rabatt", "fr": "une remise de 20\u00a0%",
                        "es": "un 20\u00a0% de descuento", "nl": "20% korting", "pt": "20% de desconto"}


def _locale(language: str) -> str:
    return "en_GB" if language == "en" else language


def _day(day: date, language: str) -> str:
    return format_date(day, format="long", locale=_locale(language))


def _desk(tmp_path, name: str, language: str):
    desk = timer_desk(tmp_path / name, f"sqlite:///{tmp_path / name}.db", START)
    return desk


def _reference(desk) -> str:
    with transaction(desk.factory) as session:
        return session.scalars(select(Case.reference).order_by(Case.id)).first()


def _staff(desk, body: str, subject: str) -> None:
    raw = mail(sender="Amy <amy@agency.example>", subject=subject, body=body, date=desk.clock.now())
    run(desk, f"Authentication-Results: {AUTH}\r\n".encode() + raw)


def _change(desk, reference: str, day: date) -> None:
    """#change PPC to 600.00 from DAY, as the command does it."""
    from daemon.playbook import decisions

    with transaction(desk.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        decisions.change_service(desk, session, case, "PPC", Decimal("600.00"), day, "amy@agency.example")


def _run_until_quiet(desk, until: datetime) -> None:
    """Let the timers fire, one due time after another, until `until`; offboarding ticked as it comes."""
    for _ in range(40):
        reference = _reference(desk)
        tick_all_items(desk, reference)
        due = sorted(d for d in pending(desk, reference).values() if d <= until)
        if not due:
            fire(desk)   # what is queued goes out
            return
        desk.clock.set(max(due[0], desk.clock.now()))
        fire(desk)


def _whole_case(tmp_path, language: str, kind: str) -> dict[str, list]:
    """One case of `kind` written in `language`, carried through; the customer's mails by template."""
    desk = _desk(tmp_path, kind, language)
    subject, body = REQUESTS[language][kind]
    run(desk, mail(sender=JANE, subject=subject, body=body))
    reference = _reference(desk)
    services, day = EXPECTED[kind]
    desk.clock.advance(timedelta(hours=2))
    run(desk, mail(sender=JANE, subject=subject, body=body, date=desk.clock.now()))   # sent again: it joins
    run(desk, mail(sender=JANE, subject=f"Re: {subject}", body=COMMAND_TRIES[language], date=desk.clock.now(),
                   message_id="<tries-a-command@acme.example>"))
    _staff(desk, "#call cancel\n", f"About {reference}")
    if kind == "cancel":
        _staff(desk, "#reason price: the fee went up again\n", f"About {reference}")
        cancel_services(desk, reference, {s: day for s in services})
    elif kind == "pause":
        pause_until(desk, reference, day)
    else:
        _staff(desk, "#offer downgrade\n#offer downgrade accepted\n", f"About {reference}")
        _change(desk, reference, day)
    approve_and_offboard(desk, reference)
    _run_until_quiet(desk, datetime(2028, 6, 1, tzinfo=UTC))
    found = {name: mails_of(desk, name) for name in CUSTOMER_TEMPLATES}
    # Refused before the mail is filed on the case: found as the answer to it.
    found["commands_not_for_customers"] = [m for m in sent(desk)
                                           if m["In-Reply-To"] == "<tries-a-command@acme.example>"]
    desk.engine.dispose()
    return {name: [m for m in found[name] if "jane@acme.example" in str(m["To"])] for name in found}


def _first_contacts(tmp_path, language: str) -> dict[str, list]:
    """A sender not on file, a question, and a request staff took by phone (the account reads `language`)."""
    desk = _desk(tmp_path, "first", language)
    subject, body = REQUESTS[language]["cancel"]
    run(desk, mail(sender=JANE, subject=QUESTION_SUBJECTS[language], body=QUESTIONS[language]))
    run(desk, mail(sender="Jane Doe <jane.doe@mail.example>", subject=subject, body=body))
    with transaction(desk.factory) as session:
        session.scalar(select(Account).where(Account.key == "GLOBEX")).language = language
    _staff(desk, "#verbal hank@globex.example\nHank rang: they want to cancel SEO at the end of March 2027.\n",
           "Phone call from Globex")
    found = {name: mails_of(desk, name) for name in ("verification_request", "confirm_request",
                                                      "written_request_needed")}
    desk.engine.dispose()
    return found


def _clean(message, language: str) -> str:
    body = message.get_body(("plain",)).get_content()
    subject = str(message["Subject"])
    for bad in ("{{", "{%", "‹", "None", "\n\n\n"):
        assert bad not in body and bad not in subject, (bad, subject)
    assert not ISO_DATE.search(body) and not ISO_DATE.search(subject), (subject, ISO_DATE.findall(body))
    assert body.strip() == body.strip("\n").strip() and not body.startswith("\n")
    assert all(len(line) <= 80 or " " not in line.strip() for line in body.splitlines()), subject
    # The desk's own reader sees the customer's language (the desk's name and the services are English).
    assert detect_language(body) == language, (language, subject, body[:300])
    return body


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_customer_mail_is_written_in_the_customers_language(tmp_path, language):
    seen: set[str] = set()
    for kind in KINDS:
        services, day = EXPECTED[kind]
        found = _whole_case(tmp_path, language, kind)
        for name, messages in found.items():
            for message in messages:
                _clean(message, language)
                seen.add(name)
        (ack,) = found["acknowledgment"]
        body = text_of(ack)
        assert _day(day, language) in body, (kind, body)
        assert all(service in body for service in services)
        (summary,) = found["customer_summary"]
        body = text_of(summary)
        assert _day(day, language) in body and all(service in body for service in services), (kind, body)
        if kind == "change":
            assert ("600" in body and "800" in body), body
            # The offer agreed, in the customer's words, not staff's name for it.
            assert OffersConfig().customer_label("downgrade", language) in body and "downgrade" not in body, body
        if kind == "cancel":
            (closure,) = found["closure_confirmation"]
            assert all(f"{service}" in text_of(closure) for service in services)
            assert _day(day, language) in text_of(closure)
            assert len(found["thank_you"]) == len(found["feedback_request"]) == len(found["winback_1"]) == 1
            assert len(found["winback"]) == 1
            # Acme keeps Social and Content: the mails after the final day say they go on,
            # and the letters offer back what ended.
            for name in ("closure_confirmation", "thank_you"):
                assert all(kept in text_of(found[name][0]) for kept in ("Social", "Content")), (name, language)
            for name in ("feedback_request", "winback_1", "winback"):
                assert all(service in text_of(found[name][0]) for service in services), (name, language)
            # Both letters make the offer written for the reason given, in the customer's language.
            offer = WinbackConfig().offer_for("price", language)
            assert offer.startswith(EXPECTED_PRICE_OFFER[language]), offer
            for letter in found["winback_1"] + found["winback"]:
                assert " ".join(offer.split()) in text_of(letter), (language, text_of(letter))
        if kind == "pause":
            (reminder,) = found["pause_resume_reminder"]
            assert _day(day, language) in str(reminder["Subject"]) and _day(day, language) in text_of(reminder)
        assert found["call_invite"] and found["call_cancelled"] and found["join_acknowledgment"]
        assert found["commands_not_for_customers"]
    for name, messages in _first_contacts(tmp_path, language).items():
        assert messages, name
        for message in messages:
            _clean(message, language)
        seen.add(name)
    assert seen == set(CUSTOMER_TEMPLATES)
