"""Calendar adapter: iTIP invitations (RFC 5546) by mail (iMIP, RFC 6047), and replies.

`build_invite` writes a VCALENDAR for METHOD:REQUEST (a call with the customer, or its
change: same UID, higher SEQUENCE) or METHOD:CANCEL; `attach_invite` puts it into an
outgoing mail the way Gmail and Outlook recognise; `parse_reply` reads the METHOD:REPLY
a customer's calendar sends back when they accept, decline or say "tentative".

Named `invites`, not `calendar`, so it never shadows the standard library module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Literal

from icalendar import Calendar, Event

from integrations.mime import fresh_boundary, type_and_boundary

PRODID = "-//canceldesk//cancellation desk//EN"
Method = Literal["REQUEST", "CANCEL"]
Person = tuple[str, str]  # (display name, bare address)

_STATUS = {"REQUEST": "CONFIRMED", "CANCEL": "CANCELLED"}


class CalendarError(ValueError):
    """The calendar text is not an iTIP reply we can read."""


@dataclass(frozen=True)
class CalendarReply:
    """One attendee's answer to an invitation."""

    uid: str
    sequence: int
    attendee_addr: str  # bare, lower-case address without "mailto:"
    partstat: str  # ACCEPTED, DECLINED, TENTATIVE (or DELEGATED, as the client sent it)


def build_invite(
    uid: str,
    sequence: int,
    start_utc: datetime,
    duration: timedelta,
    summary: str,
    description: str,
    organizer: Person,
    attendees: list[Person],
    method: Method = "REQUEST",
    location: str | None = None,
    *,
    stamp: datetime | None = None,
) -> bytes:
    """The VCALENDAR bytes (CRLF, folded) for one event; `stamp` defaults to now.

    Written here rather than by icalendar's object model, which costs about a millisecond
    an invitation (most of it folding lines one character at a time): the same lines,
    in the same order, as icalendar writes them.
    """
    if method not in _STATUS:
        raise ValueError(f"method must be REQUEST or CANCEL, not {method!r}")
    if sequence < 0:
        raise ValueError("SEQUENCE cannot be negative")
    start = _utc(start_utc)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_text(PRODID)}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"SUMMARY:{_text(summary)}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(start + duration)}",
        f"DTSTAMP:{_stamp(_utc(stamp or datetime.now(UTC)))}",
        f"UID:{_text(uid)}",
        f"SEQUENCE:{sequence}",
        *(_attendee(person, method) for person in attendees),
        f"DESCRIPTION:{_text(description)}",
    ]
    if location:
        lines.append(f"LOCATION:{_text(location)}")
    lines += [
        _address("ORGANIZER", organizer, {}),
        f"STATUS:{_STATUS[method]}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_fold(line) + "\r\n" for line in lines).encode("utf-8")


def _utc(moment: datetime) -> datetime:
    """Times go out in UTC ("...Z"): no VTIMEZONE to get wrong, no floating times."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one (UTC) to avoid a floating time")
    return moment.astimezone(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _address(name: str, person: Person, params: dict[str, str]) -> str:
    """ORGANIZER or ATTENDEE: its parameters in alphabetical order, then the mailto: URI."""
    display, addr = person
    if display:
        params = {**params, "CN": _common_name(display)}
    written = "".join(f";{key}={params[key]}" for key in sorted(params))
    return f"{name}{written}:mailto:{addr}"


def _common_name(display: str) -> str:
    # A double quote cannot appear in a parameter value; RFC 6868's ^' escape for it is not
    # understood by Outlook, so the quotes are dropped rather than escaped. Control
    # characters cannot appear either; ^ and a line break take RFC 6868's escapes.
    name = display.replace('"', "").replace("^", "^^").replace("\r\n", "^n").replace("\n", "^n").replace("\r", "^n")
    name = "".join(ch for ch in name if ch == "\t" or ch >= " " and ch != "\x7f")
    # Quoted when it holds a character that would end the value, or a space or apostrophe
    # (which some clients misread unquoted).
    return f'"{name}"' if any(ch in name for ch in ",;:\u2019 '") else name


def _attendee(person: Person, method: Method) -> str:
    params = {"CUTYPE": "INDIVIDUAL", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION"}
    if method == "REQUEST":
        # A CANCEL expects no answer: RSVP there only makes some clients show buttons.
        params["RSVP"] = "TRUE"
    return _address("ATTENDEE", person, params)


def _fold(line: str) -> str:
    """Fold at 75 octets (RFC 5545 3.1), never inside a UTF-8 sequence or right after a
    backslash or caret (some clients do not join an escape split across lines)."""
    pieces: list[str] = []
    if line.isascii():  # one octet a character: cut in slices of 74
        start = 0
        while len(line) - start > 74:
            end = start + 74 - (line[start + 73] in "\\^")
            pieces.append(line[start:end])
            start = end
        pieces.append(line[start:])
        return "\r\n ".join(pieces)
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        if current and size + width >= 75:
            if len(current) > 1 and current[-1] in "\\^":
                carried = current.pop()
                pieces.append("".join(current))
                current, size = [carried], 1
            else:
                pieces.append("".join(current))
                current, size = [], 0
        current.append(char)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces)


def attach_invite(msg: EmailMessage, ics: bytes, method: Method) -> None:
    """Add the invitation to `msg` (whose text body is already set), in place.

    Result, as Google Calendar's own invitations are built:

        multipart/mixed
          multipart/alternative
            text/plain                                  (the body already set)
            text/calendar; method=REQUEST; charset=utf-8
          application/ics; name=invite.ics              (attachment)

    Gmail and Outlook both take the invitation (with Accept/Decline buttons) from the
    text/calendar alternative, and only when its `method` parameter matches the body's
    METHOD. Some clients look only at attachments, hence the invite.ics copy; it is
    `application/ics`, not text/calendar, so that Outlook does not show two invitations.
    """
    Invitation(ics, method).attach(msg)


class Invitation:
    """One calendar object on its way into several mails (everyone invited to a call).

    The two parts it adds to a mail are the same in every copy: they are made once, at
    the first mail, and the same part objects go into each further mail; nothing changes
    a part once made (the mail is written to bytes and dropped).
    """

    def __init__(self, ics: bytes, method: Method) -> None:
        self.ics = ics
        self.method = method
        self.text = ics.decode("utf-8")
        self._made: list[tuple[str, type, object, EmailMessage]] = []

    def attach(self, msg: EmailMessage) -> None:
        """`attach_invite`: the structure it documents, `msg` changed in place."""
        body = _body_part(msg)
        # Boundaries chosen here, known not to occur in the text: left to the generator, each
        # is checked with a regular expression compiled anew for every mail.
        texts = [self.text, *(text for part in msg.walk() if isinstance(text := part.get_payload(), str))]
        if type_and_boundary(body)[0] != "multipart/alternative":
            _make_multipart(body, "alternative", fresh_boundary(*texts))
        body.attach(self._part("calendar", body))
        if type_and_boundary(msg)[0] != "multipart/mixed":
            _make_multipart(msg, "mixed", fresh_boundary(*texts))
        msg.attach(self._part("attachment", msg))

    def _part(self, role: str, parent: EmailMessage) -> EmailMessage:
        # As add_alternative and add_attachment make it: a part of the parent's own class
        # and policy (an EmailMessage part carries its own MIME-Version, too).
        kind, policy = type(parent), parent.policy
        for made_role, made_kind, made_policy, part in self._made:
            if made_role == role and made_kind is kind and made_policy is policy:
                return part
        part = kind(policy=policy)
        if role == "calendar":
            # The email package writes method="REQUEST" (quoted): the same value to any MIME
            # parser as Google's unquoted method=REQUEST.
            part.set_content(self.text, subtype="calendar", params={"method": self.method})
        else:
            part.set_content(
                self.ics, maintype="application", subtype="ics", filename="invite.ics", params={"name": "invite.ics"}
            )
        self._made.append((role, kind, policy, part))
        return part


def _make_multipart(part: EmailMessage, subtype: str, boundary: str) -> None:
    """`part.make_alternative(boundary=...)` or `make_mixed`, the same headers and parts.

    The email package sets the bare Content-Type and then parses it again to add the
    boundary, and reads a multipart's own type by parsing its Content-Type, boundary and
    all; here the type is read from the text and the header is written whole.
    """
    maintype, _, existing = type_and_boundary(part)[0].partition("/")
    if maintype == "multipart" and existing in _REFUSED[subtype]:
        raise ValueError(f"Cannot convert {existing} to {subtype}")
    headers = part._headers  # type: ignore[attr-defined]  # what the package's own _make_multipart moves
    content = [(name, value) for name, value in headers if name.lower().startswith("content-")]
    if content:
        # The existing content moves into the first subpart.
        inner = type(part)(policy=part.policy)
        inner._headers = content  # type: ignore[attr-defined]
        inner.set_payload(part._payload)  # type: ignore[attr-defined]
        part.set_payload([inner])
    else:
        part.set_payload([])
    part._headers = [(name, value) for name, value in headers if not name.lower().startswith("content-")]  # type: ignore[attr-defined]
    part["Content-Type"] = f'multipart/{subtype}; boundary="{boundary}"'


# The multiparts the email package refuses to turn into each (MIMEPart.make_alternative, make_mixed).
_REFUSED = {"alternative": ("alternative", "mixed"), "mixed": ("mixed",)}


def _body_part(msg: EmailMessage) -> EmailMessage:
    """The part that holds the text body: the message itself unless it is already mixed."""
    if type_and_boundary(msg)[0] != "multipart/mixed":
        return msg
    for part in msg.iter_parts():
        if isinstance(part, EmailMessage) and type_and_boundary(part)[0] in ("text/plain", "multipart/alternative"):
            return part
    raise ValueError("no text body to put the invitation next to")


def parse_reply(calendar_text: str) -> CalendarReply:
    """Read a METHOD:REPLY from the customer's calendar client (Gmail, Outlook, Apple)."""
    try:
        calendar = Calendar.from_ical(calendar_text)
    except ValueError as exc:
        raise CalendarError(f"not an iCalendar object: {exc}") from exc
    method = str(calendar.get("method", "")).upper()
    if method != "REPLY":
        raise CalendarError(f"expected METHOD:REPLY, got {method or 'no METHOD'}")
    event = _replying_event(calendar)
    attendee = event["attendee"]
    if isinstance(attendee, list):
        # A reply names only the one who answers; a list means a client quirk: take the
        # first that carries a PARTSTAT.
        attendee = next(a for a in attendee if "PARTSTAT" in a.params)
    return CalendarReply(
        uid=str(event["uid"]),
        sequence=int(event.get("sequence", 0)),
        attendee_addr=_bare(str(attendee)),
        partstat=str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
    )


def _replying_event(calendar: Calendar) -> Event:
    for event in calendar.walk("VEVENT"):
        if isinstance(event, Event) and "uid" in event and "attendee" in event:
            return event
    raise CalendarError("the reply has no VEVENT with UID and ATTENDEE")


def _bare(cal_address: str) -> str:
    """'MAILTO:Ada@Customer.example' -> 'ada@customer.example' (Outlook writes MAILTO)."""
    value = cal_address.strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    return value.lower()
