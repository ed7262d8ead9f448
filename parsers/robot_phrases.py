"""Classify stage helper: what machines say about themselves in the body of their mail.

Headers are the first evidence of a robot (`parsers.robots`), but many robots send none:
a bounce relayed as plain text, a Lotus Notes "AUTO:" reply, a helpdesk's "we have received
your request". These tables hold the sentences mail systems, mail clients and helpdesks
write, in several languages. Each is something a person writing to a cancellation desk
does not open a mail with, and each is looked for only in the opening of the mail's own
text (never in a quoted or forwarded original), so a customer who quotes a bounce or
mentions their holiday is still read as a customer.

Each function returns the matched words (for the label's reason) or ''.
"""

from __future__ import annotations

import re

_OPENING_CHARS = 1500  # MTAs, clients and helpdesks say who they are in the first lines

# Sentences MTAs open their non-delivery reports with (Postfix, qmail, Exim, sendmail,
# Exchange, Gmail, Yahoo, Domino, German and French gateways).
_BOUNCE_OPENINGS = re.compile(
    r"^\s*(?:This is the mail system at host\b"
    r"|Hi\. This is the qmail-send program\b"
    r"|This message was created automatically by mail delivery software"
    r"|Delivery has failed to these recipients or groups"
    r"|Delivery to the following recipients? (?:failed|has been delayed)"
    r"|Your message (?:to \S+ )?(?:couldn't|could not|wasn't|was not|cannot|can't) (?:be )?delivered"
    r"|Your message\s+Subject:.{0,300}?\s+was not delivered to"
    r"|Sorry, (?:we were unable to deliver your message|your message to \S+ cannot be delivered)"
    r"|I'm afraid I wasn't able to deliver your message"
    r"|I'm sorry to have to inform you that your message could not"
    r"|-* ?The following addresses had permanent fatal errors"
    r"|The original message was received at .{5,80}\s+from "
    r"|Mail delivery failed\b"
    r"|\*+\s*THIS IS A WARNING MESSAGE ONLY"
    r"|Dies ist eine automatisch erstellte Benachrichtigung über den Zustellstatus"
    r"|Ihre Nachricht konnte nicht (?:an \S+ )?zugestellt werden"
    r"|Votre message n'a pas pu être (?:remis|délivré))",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)
# The fields of an RFC 3464 report pasted as text (a gateway flattened the multipart/report).
_DSN_FIELDS = (
    re.compile(r"^\s*Final-Recipient:\s*rfc822;", re.IGNORECASE | re.MULTILINE),
    re.compile(r"^\s*Action:\s*(?:failed|delayed)\b", re.IGNORECASE | re.MULTILINE),
)

# A robot saying it is one ("This is an automated response"), in several languages.
_SELF_DECLARED = re.compile(
    r"\b(?:this is an? (?:automated|automatic|auto-generated|automatically generated) "
    r"(?:response|reply|message|notification|e-?mail)"
    r"|ceci est une réponse automatique|ceci est un message automatique"
    r"|dies ist eine automatische (?:antwort|nachricht|benachrichtigung)"
    r"|esta es una respuesta automática|dit is een automatisch (?:antwoord|bericht)"
    r"|questa è una risposta automatica)\b",
    re.IGNORECASE,
)
# Someone named in the third person is away: the client writes for its owner.
_THIRD_PERSON_AWAY = re.compile(
    r"^\s*[^\W\d_][\w.'-]*(?: [^\W\d_][\w.'-]*){0,3} is (?:currently )?(?:out of (?:the )?office|away from "
    r"(?:the|his|her) office|on (?:annual |parental |sick )?leave|absent)\b",
    re.MULTILINE,
)
# First person away, as the very first thing said (after a greeting and a thank-you) ...
_AWAY = re.compile(
    r"\s*(?:(?:hi|hello|dear|bonjour|hallo|sehr geehrte|guten tag|hola|estimad[oa]s?|beste|geachte|buongiorno)"
    r"\b[^\n]{0,60}\n+)?\s*"
    r"(?:(?:thank you|thanks|merci|vielen dank|danke|gracias|bedankt|grazie)[^.!\n]{0,60}[.!]\s*)?"
    r"(?:(?:i am|i'm|i will be) (?:currently |now )?(?:out of (?:the )?office|away from (?:the|my) "
    r"(?:office|desk)|on (?:annual |parental |sick )?leave|on (?:vacation|holiday)|away)"
    r"|\bje suis (?:actuellement )?absente?\b|\bich bin (?:bis .{1,40} )?(?:nicht im büro|außer haus|abwesend)"
    r"|\bich bin .{1,60}\bnicht im büro|\bestoy fuera de la oficina|\bestoy de vacaciones"
    r"|\bik ben (?:afwezig|niet op kantoor)|\bsono fuori (?:sede|ufficio))",
    re.IGNORECASE,
)
# ... and promising to answer later: a customer sending a request does not say both.
_PROMISE = re.compile(
    r"\b(?:will (?:respond|reply|get back|answer|deal with|read)|upon my return|on my return|when i return"
    r"|limited access to (?:my )?e-?mail|no access to (?:my )?e-?mail|not be checking (?:my )?e-?mail"
    r"|à mon retour|accès limité|keinen zugriff auf (?:meine )?e-?mails?|nach meiner rückkehr"
    r"|a mi regreso|acceso limitado|bij terugkomst|al mio rientro)",
    re.IGNORECASE,
)

# Helpdesks acknowledging a ticket (Zendesk, Freshdesk, OTRS, Jira Service Management ...).
_HELPDESK = re.compile(
    r"(?:##-? ?Please type your reply above this line ?-?##"
    r"|\byour (?:request|ticket|message|enquiry|inquiry|case) \(?#?\s?\d+\)? has been (?:received|created|"
    r"registered|logged)"
    r"|\b(?:registered|logged|created) under (?:ticket|case|reference) (?:number|no\.?|#)"
    r"|\backnowledge that we have received your (?:request|message|e-?mail)"
    r"|\bwe have received your (?:request|message|e-?mail|enquiry)(?:,)? and a (?:ticket|case) has been"
    r"|\ba (?:support )?ticket has been (?:created|opened) for your (?:request|message))",
    re.IGNORECASE,
)


def _opening(text: str) -> str:
    """The first characters of the mail's own text, without quoted ('>') lines."""
    lines = (line for line in (text or "").replace("\r\n", "\n").split("\n") if not line.lstrip().startswith(">"))
    return "\n".join(lines)[:_OPENING_CHARS]


def _found(match: re.Match | None) -> str:
    return " ".join(match.group(0).split())[:80] if match else ""


def bounce_statement(text: str) -> str:
    """An MTA's non-delivery sentence at the top of `text`, or the fields of a pasted DSN."""
    opening = _opening(text)
    found = _found(_BOUNCE_OPENINGS.search(opening))
    if found:
        return found
    if all(field.search(opening) for field in _DSN_FIELDS):
        return "Final-Recipient/Action: failed fields of a delivery report"
    return ""


def autoreply_statement(text: str) -> str:
    """An out-of-office or automated-response statement at the top of `text`."""
    opening = _opening(text)
    declared = _SELF_DECLARED.search(opening) or _THIRD_PERSON_AWAY.search(opening)
    if declared:
        return _found(declared)
    away, promise = _AWAY.match(opening), _PROMISE.search(opening)
    return f"{_found(away)} ... {_found(promise)}" if away and promise else ""


def helpdesk_statement(text: str) -> str:
    """A helpdesk's acknowledgment of a ticket at the top of `text`."""
    return _found(_HELPDESK.search(_opening(text)))
