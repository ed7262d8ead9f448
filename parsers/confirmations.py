"""Parse stage helper: does a reply confirm, deny, or ask? (a contact asked about a request)

A contact of an account is asked whether a request made from an address not on file is
really theirs. Only plain words decide: a denial ("I did not send this", "do not cancel")
wins over everything, then a confirmation ("yes", "I confirm", "that was me"); anything
else, a question above all, is left for a person. The caller also counts a request of the
same kind as a confirmation; that is intent, read elsewhere.
"""

from __future__ import annotations

import re

_DENY = re.compile(
    r"\b(?:(?:i|we) (?:did not|didn't|never) (?:send|sent|write|wrote|ask|asked|request|requested)"
    r"|(?:was|is) not (?:me|us|from (?:me|us))|wasn't (?:me|us)|not (?:sent|written) by (?:me|us)"
    r"|(?:do not|don't|please don't|please do not) (?:cancel|pause|change|stop|terminate|end|act)"
    r"|no,? (?:we|i) (?:do not|don't) want|fraud|impersonat\w*|phishing|scam"
    r"|ich habe (?:das|dies|nichts) nicht (?:geschickt|gesendet|geschrieben)|nicht kündigen"
    r"|je n'ai pas envoy|ne (?:pas )?résiliez pas|ce n'est pas moi"
    r"|no (?:lo )?he enviado|no cancelen)",
    re.IGNORECASE,
)
_CONFIRM = re.compile(
    r"^\s*(?:yes|yep|yeah|correct|confirmed|ja|oui|sí|si|jawohl)\b"
    r"|\b(?:i|we) (?:hereby )?confirm\b|\bthat (?:was|is) (?:me|us|from (?:me|us))\b|\b(?:i|we) sent (?:it|this|that)\b"
    r"|\bich bestätige\b|\bje confirme\b|\bconfirmo\b",
    re.IGNORECASE,
)


def confirmation(text: str) -> str:
    """'deny', 'confirm', 'question' or '' (nothing either way) for a reply's own words."""
    words = (text or "").strip()
    if _DENY.search(words):
        return "deny"
    if "?" in words:
        return "question"
    if _CONFIRM.search(words):
        return "confirm"
    return ""
