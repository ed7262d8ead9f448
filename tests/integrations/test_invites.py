"""Invitations written by integrations.invites, read back with icalendar; replies parsed."""

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path

import pytest
from icalendar import Calendar

from integrations.invites import CalendarError, attach_invite, build_invite, parse_reply

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "calendar"
UID = "case-CX-1042-call@canceldesk.example"
START = datetime(2026, 3, 12, 10, 0, tzinfo=timezone.utc)
DESK = ("Cancellation desk", "desk@canceldesk.example")
ADA = ("Ada Customer", "ada@customer.example")


def invite(sequence=0, method="REQUEST", start=START) -> bytes:
    return build_invite(UID, sequence, start, timedelta(minutes=30),
                        "Call about your cancellation",
                        "We would like to talk about your request CX-1042.",
                        DESK, [ADA], method=method, location="Phone",
                        stamp=datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc))


def only_event(ics: bytes):
    calendar = Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_request_round_trips_with_itip_fields():
    calendar, event = only_event(invite())

    assert calendar["method"] == "REQUEST"
    assert calendar["prodid"] and calendar["version"] == "2.0"
    assert str(event["uid"]) == UID and event["sequence"] == 0
    assert event["status"] == "CONFIRMED"
    assert event.decoded("dtstart") == START
    assert event.decoded("dtend") == START + timedelta(minutes=30)
    assert event.decoded("dtstamp") == datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc)
    assert str(event["organizer"]) == "mailto:desk@canceldesk.example"
    attendee = event["attendee"]
    assert str(attendee) == "mailto:ada@customer.example"
    assert dict(attendee.params) == {"CN": "Ada Customer", "CUTYPE": "INDIVIDUAL",
                                     "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION",
                                     "RSVP": "TRUE"}


def test_times_are_written_in_utc():
    berlin = timezone(timedelta(hours=1))
    ics = invite(start=datetime(2026, 3, 12, 11, 0, tzinfo=berlin))

    assert b"DTSTART:20260312T100000Z" in ics
    assert b"VTIMEZONE" not in ics


def test_naive_start_is_refused():
    with pytest.raises(ValueError, match="naive"):
        invite(start=datetime(2026, 3, 12, 10, 0))


def test_reschedule_keeps_uid_and_raises_sequence_then_cancel():
    first, moved, cancelled = (only_event(invite(0))[1],
                               only_event(invite(1, start=START + timedelta(days=1)))[1],
                               only_event(invite(2, method="CANCEL")))

    assert first["uid"] == moved["uid"] == cancelled[1]["uid"]
    assert [first["sequence"], moved["sequence"], cancelled[1]["sequence"]] == [0, 1, 2]
    assert cancelled[0]["method"] == "CANCEL"
    assert cancelled[1]["status"] == "CANCELLED"
    assert "RSVP" not in cancelled[1]["attendee"].params


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="REQUEST or CANCEL"):
        invite(method="PUBLISH")


def acknowledgement() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Cancellation desk <desk@canceldesk.example>"
    msg["To"] = "Ada Customer <ada@customer.example>"
    msg["Subject"] = "Invitation: call about your cancellation"
    msg.set_content("Please accept the invitation for our call.\n")
    return msg


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_attach_invite_builds_the_gmail_outlook_structure(method):
    msg = acknowledgement()
    ics = invite(method=method)

    attach_invite(msg, ics, method)
    parsed = BytesParser(policy=default_policy).parsebytes(msg.as_bytes())

    assert parsed.get_content_type() == "multipart/mixed"
    alternative, attachment = parsed.iter_parts()
    plain, calendar_part = alternative.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert plain.get_content_type() == "text/plain"
    assert calendar_part.get_content_type() == "text/calendar"
    assert calendar_part.get_param("method") == method
    assert calendar_part.get_content_charset() == "utf-8"
    assert Calendar.from_ical(calendar_part.get_content())["method"] == method
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content() == ics


def test_attach_invite_next_to_existing_attachments():
    msg = acknowledgement()
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf",
                       filename="terms.pdf")

    attach_invite(msg, invite(), "REQUEST")

    body, pdf, ics = msg.iter_parts()
    assert [p.get_content_type() for p in body.iter_parts()] == ["text/plain", "text/calendar"]
    assert (pdf.get_filename(), ics.get_filename()) == ("terms.pdf", "invite.ics")


def calendar_text_of(fixture: str) -> str:
    raw = (FIXTURES / fixture).read_bytes()
    message = BytesParser(policy=default_policy).parsebytes(raw)
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part.get_content()


def test_gmail_accept_reply():
    reply = parse_reply(calendar_text_of("gmail-accept-reply.eml"))

    assert reply.uid == UID
    assert reply.sequence == 1
    assert reply.attendee_addr == "ada.customer@gmail.com"
    assert reply.partstat == "ACCEPTED"


def test_outlook_accept_reply_with_vtimezone_and_uppercase_mailto():
    reply = parse_reply(calendar_text_of("outlook-accept-reply.eml"))

    assert reply.uid == "case-CX-2077-call@canceldesk.example"
    assert reply.sequence == 2
    assert reply.attendee_addr == "bert.kunde@outlook.com"
    assert reply.partstat == "ACCEPTED"


def test_decline_and_tentative_replies():
    for partstat in ("DECLINED", "TENTATIVE"):
        text = (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//iOS 17//EN\r\n"
                f"METHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:{UID}\r\nDTSTAMP:20260305T100000Z\r\n"
                f"ATTENDEE;PARTSTAT={partstat}:mailto:ada@customer.example\r\n"
                f"END:VEVENT\r\nEND:VCALENDAR\r\n")

        reply = parse_reply(text)

        assert (reply.partstat, reply.sequence) == (partstat, 0)


def test_a_request_is_not_a_reply():
    with pytest.raises(CalendarError, match="REPLY"):
        parse_reply(invite().decode())


def test_garbage_is_a_calendar_error():
    with pytest.raises(CalendarError):
        parse_reply("this is not a calendar")


def icalendar_invite(uid, sequence, start, duration, summary, description, organizer, attendees, method,
                     location, stamp) -> bytes:
    """The same invitation built with icalendar's object model: what build_invite must write."""
    from icalendar import Event, vCalAddress

    def address(person, **params):
        name, addr = person
        value = vCalAddress(f"mailto:{addr}")
        if name:
            value.params["CN"] = name.replace('"', "")
        value.params.update(params)
        return value

    event = Event()
    for key, value in (("uid", uid), ("sequence", sequence), ("dtstamp", stamp), ("dtstart", start),
                       ("dtend", start + duration), ("summary", summary), ("description", description)):
        event.add(key, value)
    if location:
        event.add("location", location)
    event.add("status", "CONFIRMED" if method == "REQUEST" else "CANCELLED")
    event.add("transp", "OPAQUE")
    event.add("organizer", address(organizer))
    for person in attendees:
        rsvp = {"RSVP": "TRUE"} if method == "REQUEST" else {}
        event.add("attendee", address(person, CUTYPE="INDIVIDUAL", ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION",
                                      **rsvp))
    calendar = Calendar()
    for key, value in (("prodid", "-//canceldesk//cancellation desk//EN"), ("version", "2.0"),
                       ("calscale", "GREGORIAN"), ("method", method)):
        calendar.add(key, value)
    calendar.add_component(event)
    return calendar.to_ical()


NAMES = ["Ada Customer", "", 'Ada "the boss" Customer', "O'Brien, Siobhán; Procurement", "Jürgen Müller",
         "山田太郎", "Zoë Ångström-Łukasiewicz and the very long procurement department of Globex Corporation",
         "plain", "Caret^Name: x"]


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
@pytest.mark.parametrize("location", [None, "Phone, then video; bring the contract"])
def test_the_invitation_is_written_as_icalendar_writes_it(method, location):
    from daemon.mail.invite_text import WORDS

    stamp = datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc)
    for n, (summary, description) in enumerate(WORDS.values()):
        summary = summary.format(account=f"Client {NAMES[n % len(NAMES)]} Ltd", company="Agency",
                                 reference="CX-2026-0042")
        description = description + "\nA second line with a back\\slash, and" + " a comma," * n
        attendees = [(name, f"person{i}@example.com") for i, name in enumerate(NAMES)]
        args = (UID, n, START, timedelta(minutes=30), summary, description, DESK, attendees, method, location, stamp)
        assert build_invite(*args[:8], method=method, location=location, stamp=stamp) == icalendar_invite(*args)


@pytest.mark.parametrize("width", range(60, 80))
def test_folding_never_splits_a_character_or_an_escape(width):
    for filler in ("a", "ä", "語", "\\", ","):
        text = "x" * (width - 12) + filler * 5 + " end"
        ics = build_invite(UID, 0, START, timedelta(minutes=30), text, text, DESK, [ADA],
                           stamp=datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc))
        assert ics == icalendar_invite(UID, 0, START, timedelta(minutes=30), text, text, DESK, [ADA], "REQUEST", None,
                                       datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc))
        assert all(len(line) <= 75 for line in ics.split(b"\r\n"))
        assert only_event(ics)[1]["summary"] == text


def stdlib_attach(msg: EmailMessage, ics: bytes, method: str, boundaries) -> None:
    """The invitation added with the email package's own add_alternative and add_attachment."""
    body = msg if msg.get_content_type() != "multipart/mixed" else next(msg.iter_parts())
    if body.get_content_type() != "multipart/alternative":
        body.make_alternative(boundary=next(boundaries))
    body.add_alternative(ics.decode(), subtype="calendar", params={"method": method})
    if msg.get_content_type() != "multipart/mixed":
        msg.make_mixed(boundary=next(boundaries))
    msg.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics", params={"name": "invite.ics"})


@pytest.mark.parametrize("shape", ["plain", "html", "mixed"])
def test_one_invitation_in_many_mails_writes_what_the_email_package_writes(monkeypatch, shape):
    from daemon.mail.compose import POLICY, to_bytes
    from integrations import invites

    def mail_for(n: int) -> EmailMessage:
        msg = EmailMessage(policy=POLICY)
        msg["To"] = f"person{n}@example.com"
        msg.set_content(f"Please accept the invitation, reader {n}: Grüße.\n")
        if shape == "html":
            msg.add_alternative(f"<p>Reader {n}</p>", subtype="html")
            msg.set_boundary("===============0000000000000000001==")
        if shape == "mixed":
            msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="terms.pdf")
            msg.set_boundary("===============0000000000000000001==")
        return msg

    invitation = invites.Invitation(invite(), "REQUEST")
    for n in range(3):
        boundaries = [f"==============={n}{k:018d}==" for k in range(2)]
        monkeypatch.setattr(invites, "fresh_boundary", lambda *_texts, left=iter(boundaries): next(left))
        ours, theirs = mail_for(n), mail_for(n)
        invitation.attach(ours)
        stdlib_attach(theirs, invite(), "REQUEST", iter(boundaries))
        assert to_bytes(ours) == bytes(ours) == bytes(theirs)


@pytest.mark.parametrize("existing, subtype", [("mixed", "mixed"), ("mixed", "alternative"), ("alternative", "alternative")])
def test_a_multipart_the_email_package_would_not_convert_is_refused_alike(existing, subtype):
    from daemon.mail.compose import POLICY
    from integrations import invites

    def multipart() -> EmailMessage:
        msg = EmailMessage(policy=POLICY)
        msg.set_content("Hello.\n")
        getattr(msg, f"make_{existing}")(boundary="===============0000000000000000001==")
        return msg

    with pytest.raises(ValueError) as theirs:
        getattr(multipart(), f"make_{subtype}")(boundary="===============0000000000000000002==")
    with pytest.raises(ValueError) as ours:
        invites._make_multipart(multipart(), subtype, "===============0000000000000000002==")
    assert str(ours.value) == str(theirs.value)
