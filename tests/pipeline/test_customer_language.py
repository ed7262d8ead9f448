"""A request is answered in the language it was written in, with dates written in that language."""
from __future__ import annotations

from tests.pipeline.mailkit import cases, run, sent_to, text_of
from tests.support import mail


def _ack(desk, address: str):
    [ack] = [m for m in sent_to(desk, address) if "CX-2026-0001" in str(m["Subject"])]
    return ack


def test_a_german_request_is_answered_in_german(desk):
    run(desk, mail(subject="Kündigung SEO", body=(
        "Sehr geehrte Damen und Herren,\n\nhiermit kündigen wir unseren SEO-Vertrag zum 31.03.2027. "
        "Bitte bestätigen Sie uns den Eingang der Kündigung.\n\nMit freundlichen Grüßen\nJane Doe\n")))
    assert cases(desk)[0].language == "de"
    ack = _ack(desk, "jane@acme.example")
    body = text_of(ack)
    assert "Wir haben Ihre Kündigung erhalten" in str(ack["Subject"])
    assert "Montag, 23. November 2026" in body and "31. März 2027" in body
    assert "Thank you" not in body and "2027-03-31" not in body
    # The team reads the desk's language.
    notice = next(m for m in sent_to(desk, "amy@agency.example") if "request from" in str(m["Subject"]))
    assert "has asked for a cancellation" in text_of(notice)


def test_a_spanish_pause_request_is_answered_in_spanish(desk):
    run(desk, mail(sender="Hank Scorpio <hank@globex.example>", subject="Pausa del servicio SEO", body=(
        "Hola:\n\nqueremos pausar nuestro servicio de SEO durante el invierno, hasta el 1 de marzo de 2027, "
        "porque en estos meses tenemos muy pocos clientes.\n\nUn saludo,\nHank\n")))
    [case] = cases(desk)
    assert (case.kind, case.language) == ("pause", "es")
    ack = _ack(desk, "hank@globex.example")
    body = text_of(ack)
    assert "Hemos recibido su solicitud de pausa" in str(ack["Subject"])
    assert "se reanuden el 1 de marzo de 2027" in body and "lunes, 23 de noviembre de 2026" in body
    assert "Thank you" not in body


def test_an_english_request_stays_in_english(desk):
    run(desk, mail(body="Hi,\n\nplease cancel our SEO service at the end of March.\n\nThanks,\nJane\n"))
    assert cases(desk)[0].language == "en"
    assert "Thank you for your message" in text_of(_ack(desk, "jane@acme.example"))


def test_the_language_model_keeps_only_the_desks_languages_in_memory():
    from parsers import language

    identifier = language._identifier()
    kept, _, labels = identifier._full_model
    assert kept.shape[1] == len(language.LANGUAGES) and sorted(labels) == sorted(language.LANGUAGES)
    assert language.detect_language("Bonjour, je souhaite résilier notre contrat SEO à la fin de la période.") == "fr"
