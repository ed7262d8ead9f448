"""Parse stage, reply text: the new words above the quoted original and the signature.

First mail-parser-reply (multilingual, maintained) splits the body; then our own cuts run
on its answer, because it misses some shapes we see (Gmail attributions folded over two
lines, Outlook blocks in Dutch, '-----Original Message-----' variants, bottom posting).
Every cut only ever shortens the text, so running both is safe.
"""

from __future__ import annotations

import re

from mailparser_reply.parser import EmailMessage

LANGUAGES = ["en", "de", "fr", "es", "nl"]
_LIBRARY_LIMIT = 50_000  # its regexes backtrack badly on huge bodies; ours are linear

_ATTRIBUTION = re.compile(
    r"^\s*(?:>\s*)*(?:-+\s*)?(?:On|Am|Le|El|Op|Em|Il)\s.{0,300}?"  # Yahoo prefixes '--- '
    r"(?:wrote|schrieb|a\s+écrit|escribió|schreef|escreveu|ha\s+scritto)(?:\s.{0,200}?)?\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
# Android and others: '02.04.2012 14:20 user <a@x> wrote:' starts with the date itself.
_DATED_ATTRIBUTION = re.compile(
    r"^\s*\d.{0,300}?(?:wrote|написал\w*|schrieb|a\s+écrit|escribió|schreef)(?:\s.{0,200}?)?\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_SEPARATORS = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original\s+Message|Ursprüngliche\s+Nachricht|Originalnachricht|"
    r"Message\s+d'origine|Mensaje\s+original|Oorspronkelijk\s+bericht|Forwarded\s+message|"
    r"Forwarded\s+Message|Weitergeleitete\s+Nachricht|Message\s+transféré|Mensaje\s+reenviado|"
    r"Doorgestuurd\s+bericht)\s*-{2,}|"
    r"(?:Begin\s+forwarded\s+message|Anfang\s+der\s+weitergeleiteten\s+Nachricht|"
    r"Début\s+du\s+message\s+réexpédié|Inicio\s+del\s+mensaje\s+reenviado|"
    r"Begin\s+doorgestuurd\s+bericht)\s*:|_{20,})\s*$",
    re.IGNORECASE,
)
_FROM_LINE = re.compile(r"^\s*\**(?:From|Von|De|Van|Från|Da)\s*\**\s*:", re.IGNORECASE)
_HEADER_LINE = re.compile(
    r"^\s*\**(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Fecha|Verzonden|Verstuurd|To|An|À|A|Para|Aan|"
    r"Subject|Betreff|Objet|Asunto|Onderwerp)\s*\**\s*:",
    re.IGNORECASE,
)
# Any language: 'Label: value' (a label of one to four words of letters), a date or a time.
_LABEL_LINE = re.compile(r"^\s*\**[^\W\d_][^\W\d_ .\'-]*(?:[ .\'-][^\W\d_]+){0,3}\.?\**\s*:\s*\S")
_DATE_OR_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b\d{4}\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b")
# '-----Ursprungligt meddelande-----', '-------- Oryginalna wiadomość --------', '_____':
# a line opening with a run of rule characters, in whatever language follows.
_RULE = re.compile(r"^\s*(?:-{3,}|_{5,}|={5,}|\*{5,})")
_SIGNATURE = re.compile(
    r"^\s*(?:--\s*|Sent from my .{1,40}|Sent from (?:Mail|Outlook|Yahoo Mail).{0,40}|"
    r"Get Outlook for .{1,30}|Von meinem .{1,30} gesendet|Gesendet von .{1,40}|"
    r"Envoyé de mon .{1,30}|Envoyé depuis .{1,40}|Enviado desde mi .{1,30}|"
    r"Verzonden (?:vanaf|met) mijn .{1,30}|Verstuurd vanaf mijn .{1,30})$",
    re.IGNORECASE,
)


def new_text(text: str) -> str:
    """The author's own new words in `text` (a reply body), without quote and signature."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    candidate = _library_reply(text)
    own = _cut(candidate if candidate is not None else text)
    if own.strip():
        return own.strip()
    return _unquoted_remainder(text)


def split_own(text: str) -> tuple[list[str], list[str]]:
    """(the author's lines, everything from the first boundary in any language on).

    No library and no bottom-posting guess here: what is not clearly above every quote is
    not the author's. The author's lines end at a signature marker as well.
    """
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    end = quote_start(lines, any_language=True)
    own, rest = lines[:end], lines[end:]
    sig = next((i for i, line in enumerate(own) if _SIGNATURE.match(line)), len(own))
    return own[:sig], rest


def _library_reply(text: str) -> str | None:
    if len(text) > _LIBRARY_LIMIT:
        return None
    try:
        parsed = EmailMessage(text=text, languages=list(LANGUAGES), keep_hyphen_lists=True).read()
        body = parsed.replies[0].body if parsed.replies else ""
    except Exception:  # a third-party regex engine on hostile text: never let it stop parsing
        return None
    return body if body.strip() else None


def _cut(text: str) -> str:
    """Text above the first quote marker, then above the first signature marker."""
    lines = text.split("\n")
    end = quote_start(lines)
    lines = lines[:end]
    sig = next((i for i, line in enumerate(lines) if _SIGNATURE.match(line)), len(lines))
    return "\n".join(lines[:sig])


def quote_start(lines: list[str], *, any_language: bool = False) -> int:
    """Index of the first line that begins quoted or forwarded material (len(lines) if none).

    `any_language` adds the shape rules of `_any_language_boundary`: they may take a line
    of the author's for a boundary, which is right where a quoted line must never be
    obeyed (command lines) and wrong where every word of a request counts.
    """
    for i in range(len(lines)):
        if _starts_quote(lines, i) or (any_language and _any_language_boundary(lines, i)):
            return i
    return len(lines)


def _starts_quote(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.lstrip().startswith(">") or _SEPARATORS.match(line):
        return True
    if _FROM_LINE.match(line) and _header_block_follows(lines, i):
        return True
    return bool(line.strip()) and _attribution_at(lines, i)


def _any_language_boundary(lines: list[str], i: int) -> bool:
    """The shapes of a quote header whatever the client's language.

    Clients translate the words ('Från:', 'Od:', 'skrev', 'napisał') but keep the shape:
    a block of 'Label: value' lines naming an address, or one line ending in ':' that
    carries a date or an address. Mistaking a line of the author's for a boundary only
    ever shortens what is read, so these rules err on that side.
    """
    line = lines[i]
    if _RULE.match(line):
        return True
    if not line.strip() or line.lstrip().startswith("#"):
        return False
    return _label_block_at(lines, i) or _dated_colon_line_at(lines, i)


def _label_block_at(lines: list[str], i: int) -> bool:
    block = []
    for line in lines[i : i + 6]:
        if not _LABEL_LINE.match(line):
            break
        block.append(line)
    if len(block) >= 3:
        return True
    return len(block) == 2 and any("@" in line for line in block)


def _dated_colon_line_at(lines: list[str], i: int) -> bool:
    for size in (1, 2, 3):
        part = lines[i : i + size]
        if len(part) < size or any(p.lstrip().startswith("#") or not p.strip() for p in part):
            return False
        joined = " ".join(p.strip() for p in part)
        if len(joined) > 400:
            return False
        if joined.endswith(":") and ("@" in joined or _DATE_OR_TIME.search(joined)):
            return True
    return False


def _attribution_at(lines: list[str], i: int) -> bool:
    """Gmail and Android fold the 'On <date>, <name> wrote:' line over up to three lines."""
    for size in (1, 2, 3):
        joined = " ".join(part.strip() for part in lines[i : i + size])
        if _ATTRIBUTION.match(joined) or _DATED_ATTRIBUTION.match(joined):
            return True
    return False


def _header_block_follows(lines: list[str], i: int) -> bool:
    """Outlook's 'From: / Sent: / To: / Subject:' block: a From line and another header soon after."""
    following = [line for line in lines[i + 1 : i + 6] if line.strip()]
    return any(_HEADER_LINE.match(line) for line in following[:3])


def _unquoted_remainder(text: str) -> str:
    """Bottom posting: the unquoted lines that are neither attribution nor signature."""
    kept = []
    for line in text.split("\n"):
        if _SIGNATURE.match(line):
            break
        if line.lstrip().startswith(">") or _ATTRIBUTION.match(line) or _DATED_ATTRIBUTION.match(line):
            continue
        kept.append(line)
    return "\n".join(kept).strip()
