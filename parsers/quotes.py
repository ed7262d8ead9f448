"""Parse stage, reply text: the new words above the quoted original and the signature.

First mail-parser-reply (multilingual, maintained) splits the body; then our own cuts run
on its answer, because it misses some shapes we see (Gmail attributions folded over two
lines, Outlook blocks in Dutch, '-----Original Message-----' variants, bottom posting).
Every cut only ever shortens the text, so running both is safe.
"""
from __future__ import annotations

import re

from mailparser_reply.parser import EmailMessage

LANGUAGES = ['en', 'de', 'fr', 'es', 'nl']
_LIBRARY_LIMIT = 50_000  # its regexes backtrack badly on huge bodies; ours are linear

_ATTRIBUTION = re.compile(
    r'^\s*(?:>\s*)*(?:-+\s*)?(?:On|Am|Le|El|Op|Em|Il)\s.{0,300}?'  # Yahoo prefixes '--- '
    r'(?:wrote|schrieb|a\s+écrit|escribió|schreef|escreveu|ha\s+scritto)(?:\s.{0,200}?)?\s*:\s*$',
    re.IGNORECASE | re.DOTALL)
# Android and others: '02.04.2012 14:20 user <a@x> wrote:' starts with the date itself.
_DATED_ATTRIBUTION = re.compile(
    r'^\s*\d.{0,300}?(?:wrote|написал\w*|schrieb|a\s+écrit|escribió|schreef)(?:\s.{0,200}?)?\s*:\s*$',
    re.IGNORECASE | re.DOTALL)
_SEPARATORS = re.compile(
    r'^\s*(?:-{2,}\s*(?:Original\s+Message|Ursprüngliche\s+Nachricht|Originalnachricht|'
    r"Message\s+d'origine|Mensaje\s+original|Oorspronkelijk\s+bericht|Forwarded\s+message|"
    r'Forwarded\s+Message|Weitergeleitete\s+Nachricht|Message\s+transféré|Mensaje\s+reenviado|'
    r'Doorgestuurd\s+bericht)\s*-{2,}|'
    r'(?:Begin\s+forwarded\s+message|Anfang\s+der\s+weitergeleiteten\s+Nachricht|'
    r'Début\s+du\s+message\s+réexpédié|Inicio\s+del\s+mensaje\s+reenviado|'
    r'Begin\s+doorgestuurd\s+bericht)\s*:|_{20,})\s*$', re.IGNORECASE)
_FROM_LINE = re.compile(r'^\s*\**(?:From|Von|De|Van|Från|Da)\s*\**\s*:', re.IGNORECASE)
_HEADER_LINE = re.compile(
    r'^\s*\**(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Fecha|Verzonden|Verstuurd|To|An|À|A|Para|Aan|'
    r'Subject|Betreff|Objet|Asunto|Onderwerp)\s*\**\s*:', re.IGNORECASE)
_SIGNATURE = re.compile(
    r'^\s*(?:--\s*|Sent from my .{1,40}|Sent from (?:Mail|Outlook|Yahoo Mail).{0,40}|'
    r'Get Outlook for .{1,30}|Von meinem .{1,30} gesendet|Gesendet von .{1,40}|'
    r'Envoyé de mon .{1,30}|Envoyé depuis .{1,40}|Enviado desde mi .{1,30}|'
    r'Verzonden (?:vanaf|met) mijn .{1,30}|Verstuurd vanaf mijn .{1,30})$', re.IGNORECASE)


def new_text(text: str) -> str:
    """The author's own new words in `text` (a reply body), without quote and signature."""
    text = (text or '').replace('\r\n', '\n').replace('\r', '\n')
    candidate = _library_reply(text)
    own = _cut(candidate if candidate is not None else text)
    if own.strip():
        return own.strip()
    return _unquoted_remainder(text)


def _library_reply(text: str) -> str | None:
    if len(text) > _LIBRARY_LIMIT:
        return None
    try:
        parsed = EmailMessage(text=text, languages=list(LANGUAGES), keep_hyphen_lists=True).read()
        body = parsed.replies[0].body if parsed.replies else ''
    except Exception:  # a third-party regex engine on hostile text: never let it stop parsing
        return None
    return body if body.strip() else None


def _cut(text: str) -> str:
    """Text above the first quote marker, then above the first signature marker."""
    lines = text.split('\n')
    end = quote_start(lines)
    lines = lines[:end]
    sig = next((i for i, line in enumerate(lines) if _SIGNATURE.match(line)), len(lines))
    return '\n'.join(lines[:sig])


def quote_start(lines: list[str]) -> int:
    """Index of the first line that begins quoted or forwarded material (len(lines) if none)."""
    for i, line in enumerate(lines):
        if _starts_quote(lines, i):
            return i
    return len(lines)


def _starts_quote(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.lstrip().startswith('>') or _SEPARATORS.match(line):
        return True
    if _FROM_LINE.match(line) and _header_block_follows(lines, i):
        return True
    return bool(line.strip()) and _attribution_at(lines, i)


def _attribution_at(lines: list[str], i: int) -> bool:
    """Gmail and Android fold the 'On <date>, <name> wrote:' line over up to three lines."""
    for size in (1, 2, 3):
        joined = ' '.join(part.strip() for part in lines[i:i + size])
        if _ATTRIBUTION.match(joined) or _DATED_ATTRIBUTION.match(joined):
            return True
    return False


def _header_block_follows(lines: list[str], i: int) -> bool:
    """Outlook's 'From: / Sent: / To: / Subject:' block: a From line and another header soon after."""
    following = [line for line in lines[i + 1:i + 6] if line.strip()]
    return any(_HEADER_LINE.match(line) for line in following[:3])


def _unquoted_remainder(text: str) -> str:
    """Bottom posting: the unquoted lines that are neither attribution nor signature."""
    kept = []
    for line in text.split('\n'):
        if _SIGNATURE.match(line):
            break
        if line.lstrip().startswith('>') or _ATTRIBUTION.match(line) or _DATED_ATTRIBUTION.match(line):
            continue
        kept.append(line)
    return '\n'.join(kept).strip()
