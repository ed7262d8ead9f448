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

_SENTENCE = re.compile(r'(?<=[.!?;])\s+|\n+|(?<=[.!?])(?=[A-Z¿¡])')
_CLAUSE = re.compile(r'\s*(?:[,:()]|\s[-–—]\s|&)\s*|\s+\b(?:' + '|'.join(CONJUNCTIONS) + r')\b\s+')
# Addresses, URLs, domains and machine tokens ('5.1.1', 'x-cancel-token'): blanked, never read.
_NOT_WORDS = re.compile(r'\S+@\S+|\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|org|net|de|fr|es|nl|pt|io|example|eu|uk)'
                        r'\b\S*|\S*[_=/\\]\S*|\b\w+(?:-\w+){2,}\b')


@dataclass(frozen=True)
class Clause:
    """One clause: its text as written, folded for matching, and where it sits."""

    text: str
    folded: str
    sentence: int            # index of its sentence; clauses of one sentence share it
    question: bool           # the sentence asks ('?', or opens like a question)
    where: str = 'text'      # 'text' or 'subject'


def fold(text: str) -> str:
    """Lower case, no accents, one kind of apostrophe and space: 'Kündigung' -> 'kundigung'."""
    text = unicodedata.normalize('NFKD', text.replace('\u2019', "'").replace('\u00a0', ' ')).casefold()
    return re.sub(r'\s+', ' ', ''.join(ch for ch in text if not unicodedata.combining(ch))).strip()


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text or '') if s and s.strip()]


def clauses(text: str, *, where: str = 'text', first_sentence: int = 0, opens_question=None) -> list[Clause]:
    """Every clause of `text`; `opens_question(folded_sentence)` marks questions without a '?'."""
    found: list[Clause] = []
    for number, sentence in enumerate(sentences(_NOT_WORDS.sub(' ', text or '')), start=first_sentence):
        folded_sentence = fold(sentence)
        asks = '?' in sentence or bool(opens_question and opens_question(folded_sentence))
        for part in _CLAUSE.split(sentence):
            if part and part.strip(' .!?;¿¡'):
                found.append(Clause(part.strip(), fold(part).strip(' .!?;¿¡'), number, asks, where))
    return found
