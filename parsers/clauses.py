"""Classify stage helper: new text cut into sentences and clauses, folded for matching.

A clause is the unit a request lives in: an action and its object, and a negation, count
only inside one clause ('the company is no good, please terminate my account' is two).
Sentences end at '.', '!', '?', ';' and line breaks; clauses end at commas, colons, dashes
and the conjunctions of the six languages ('but', 'and', 'aber', 'mais', 'pero', 'maar' ...).
Words that are not words (addresses, URLs, long tokens of machine text) are blanked before
reading: 'cancel@agency.example' or a bounce diagnostic must never count as intent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from parsers.intent_lexicon import CONJUNCTIONS

# A full stop after a number ('am 3.12. leider') ends no sentence.
_SENTENCE = re.compile(r"(?<!\d\.)(?<=[.!?;])\s+|\n+|(?<=[!?])(?=[A-Z¿¡])")
_CLAUSE = re.compile(r"\s*(?:[,:()]|\s[-–—]\s|&)\s*|\s+\b(?:" + "|".join(CONJUNCTIONS) + r")\b\s+")
# Addresses, URLs, domains and machine tokens ('5.1.1', 'x-cancel-token'): blanked, never read.
_NOT_WORDS = re.compile(
    r"\S+@\S+|\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|org|net|de|fr|es|nl|pt|io|example|eu|uk)"
    r"\b\S*|\S*[_=/\\]\S*|\b\w+(?:-\w+){2,}\b"
)


_WRAP_WIDTH = 40
_ELISION = re.compile(r"\b([dlnjmtsc]|qu)'(?=\w)")
# A closing line ('Kind regards,', 'Mit freundlichen Grüßen', 'Cordialement'): what follows is name and signature.
_VALEDICTION = re.compile(
    r"^\s*(?:(?:kind|best|warm|many)?\s*(?:regards|wishes)|best|cheers|thanks(?: again)?|thank you|many thanks|"
    r"sincerely|yours(?: sincerely| faithfully| truly)?|mit freundlichen gr(?:ü|ue)(?:ß|ss)en|mfg|(?:viele|beste|liebe)\s+"
    r"gr(?:ü|ue)(?:ß|ss)e|gru(?:ß|ss)|lg|cordialement|bien (?:à|a) vous|bien cordialement|salutations|merci|"
    r"(?:un )?saludos?(?: cordiales)?|atentamente|met vriendelijke groet(?:en)?|groet(?:en|jes)?|mvg|"
    r"atenciosamente|abra(?:ç|c)os|obrigad[oa]|cumprimentos)[,.!]*(?:\s+[A-ZÀ-Ý][\w.-]*(?:\s+[A-ZÀ-Ý][\w.-]*)?)?\s*$",
    re.IGNORECASE,
)


# A name alone on a line after a blank one ('Jane', 'Hans Müller'): the signature starts there.
_NAME_LINE = re.compile(r"^\s*(?:[A-ZÀ-Ý][a-zà-ÿ]+|[A-Z]\.?)(?:[ -][A-ZÀ-Ý][a-zà-ÿ]+){0,2}\s*$")


def own_words(text: str) -> str:
    """The text above its closing line or name line: the signature and disclaimer below ask for nothing."""
    lines = (text or "").split("\n")
    for index, line in enumerate(lines):
        after_blank = index > 1 and not lines[index - 1].strip()
        if index and (_VALEDICTION.match(line) or (after_blank and _NAME_LINE.match(line))):
            return "\n".join(lines[:index])
    return text or ""


@dataclass(frozen=True)
class Clause:
    """One clause: its text as written, folded for matching, and where it sits."""

    text: str
    folded: str
    sentence: int  # index of its sentence; clauses of one sentence share it
    question: bool  # the sentence asks ('?', or opens like a question)
    where: str = "text"  # 'text' or 'subject'
    before: str = ""  # the folded words of its sentence before it
    sentence_text: str = ""  # its whole sentence, folded


def fold(text: str) -> str:
    """Lower case, no accents, one kind of apostrophe and space: 'Kündigung' -> 'kundigung'."""
    text = text.replace("\u2019", "'").replace("\u00a0", " ").casefold()
    if not text.isascii():  # most mail is plain ASCII: no accents to take off
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = _ELISION.sub(r"\1' ", text)  # "d'annuler" is read as "d' annuler"
    return re.sub(r"\s+", " ", text).strip()


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(_unwrapped(text or "")) if s and s.strip()]


def _unwrapped(text: str) -> str:
    """Lines a mail client wrapped (long, no closing punctuation) joined again: a sentence may span two."""
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        if out and len(out[-1]) >= _WRAP_WIDTH and out[-1].rstrip()[-1:] not in ".!?:;" and line.strip():
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def clauses(text: str, *, where: str = "text", first_sentence: int = 0, opens_question=None) -> list[Clause]:
    """Every clause of `text`; `opens_question(folded_sentence)` marks questions without a '?'."""
    found: list[Clause] = []
    for number, sentence in enumerate(sentences(_NOT_WORDS.sub(" ", text or "")), start=first_sentence):
        folded_sentence = fold(sentence)
        asks = "?" in sentence or bool(opens_question and opens_question(folded_sentence))
        before: list[str] = []
        for part in _CLAUSE.split(sentence):
            if part and part.strip(" .!?;¿¡"):
                folded = fold(part).strip(" .!?;¿¡")
                found.append(Clause(part.strip(), folded, number, asks, where, " ".join(before), folded_sentence))
                before.append(folded)
    return found
