"""A German and a Spanish request through the real servers (Dovecot in, aiosmtpd out),
answered in German and in Spanish, with dates written as those readers write them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from daemon.app import make_source
from daemon.intake.watcher import Watcher
from tests.playbook.helpers import AUTH, playbook_desk
from tests.support import mail


@pytest.fixture
def imap_desk(database_url, tmp_path, dovecot_user, smtp_server, monkeypatch):
    monkeypatch.setenv("CANCELDESK_IMAP_PASSWORD", dovecot_user.password)
    built = playbook_desk(tmp_path, database_url,
                          mailbox_url=f"imap://{dovecot_user.name}@127.0.0.1:{dovecot_user.server.port}/INBOX"
                                      "?starttls=no",
                          smtp_url=f"smtp://127.0.0.1:{smtp_server.port}?starttls=no")
    yield built
    built.engine.dispose()


def _to(smtp_server, address: str) -> list:
    return [m.message for m in smtp_server.messages if address in m.rcpt_tos]


def _body(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_a_german_and_a_spanish_request_are_answered_in_their_language(imap_desk, dovecot_user, smtp_server):
    dovecot_user.append(mail(subject="Kündigung SEO und PPC", body=(
        "Sehr geehrte Damen und Herren,\n\nhiermit kündigen wir unsere Verträge für SEO und PPC zum 31.03.2027. "
        "Bitte bestätigen Sie uns den Eingang der Kündigung.\n\nMit freundlichen Grüßen\nJane Doe\n")))
    dovecot_user.append(mail(sender="Hank Scorpio <hank@globex.example>", subject="Pausa del servicio SEO", body=(
        "Hola:\n\nqueremos pausar nuestro servicio de SEO durante el invierno, hasta el 1 de marzo de 2027, "
        "porque en estos meses tenemos muy pocos clientes.\n\nUn saludo,\nHank\n")))
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()
    imap_desk.clock.advance(timedelta(hours=12))    # the proposed calls go out in business hours
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()

    german = _to(smtp_server, "jane@acme.example")
    ack = next(m for m in german if str(m["Subject"]).startswith("Wir haben Ihre Kündigung erhalten"))
    assert "31. März 2027" in _body(ack) and "Montag, 23. November 2026" in _body(ack)
    assert "Mit freundlichen Grüßen" in _body(ack) and "2027-03-31" not in _body(ack)
    call = next(m for m in german if "Ein Gespräch zu Ihrer Kündigung" in str(m["Subject"]))
    assert "Minuten" in _body(call) and "November 2026" in str(call["Subject"])

    spanish = _to(smtp_server, "hank@globex.example")
    ack = next(m for m in spanish if str(m["Subject"]).startswith("Hemos recibido su solicitud de pausa"))
    assert "1 de marzo de 2027" in _body(ack) and "lunes, 23 de noviembre de 2026" in _body(ack)
    # Globex is in New York: the customer reads their own zone.
    assert "(Nueva York, UTC-05:00)" in _body(ack)
    call = next(m for m in spanish if "Una llamada sobre su solicitud de pausa" in str(m["Subject"]))
    assert "minutos" in _body(call) and "noviembre de 2026" in _body(call)
    # The team reads the desk's English.
    notices = [m for m in _to(smtp_server, "tom@agency.example") if "request from" in str(m["Subject"])]
    assert len(notices) == 2 and all("has asked for a" in _body(m) for m in notices)


def test_the_calendar_entry_speaks_its_readers_language(imap_desk, dovecot_user, smtp_server):
    dovecot_user.append(mail(subject="Kündigung SEO", body=(
        "Guten Tag,\n\nhiermit kündigen wir unseren SEO-Vertrag zum 31.03.2027.\n\nMit freundlichen Grüßen\nJane Doe\n")))
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()
    imap_desk.clock.advance(timedelta(hours=12))
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()

    def calendar(address: str) -> str:
        (invite,) = [m for m in _to(smtp_server, address) if m.get_content_type() == "multipart/mixed"
                     or any(p.get_content_type() == "text/calendar" for p in m.walk())]
        part = next(p for p in invite.walk() if p.get_content_type() == "text/calendar")
        return " ".join(part.get_content().replace("\r\n ", "").split())

    customer, team = calendar("jane@acme.example"), calendar("tom@agency.example")
    assert "Ihr Kundenkonto bei Agency" in customer and "Ein kurzes Gespräch" in customer
    assert "your account with Agency" in team
    uid = [line for line in customer.split() if line.startswith("UID:")]
    assert uid and uid == [line for line in team.split() if line.startswith("UID:")]
