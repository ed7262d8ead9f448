"""Classify stage helper: what does the customer want? Phrases in, an explainable Intent out.

How it decides (the README quotes this):

1. Text. The subject counts only when it is not a reply or forward ('Re:', 'AW:', 'Fwd:' ...):
   a reply keeps our own subject ('Your cancellation is confirmed') and would mislead.
   The new text (above the quote) is split into sentences.
2. Phrases. For each intent and each language, every phrase is looked for as whole words,
   case-insensitively; a phrase of five letters or more also matches as a word stem
   ('cancel' matches 'cancelled' and 'cancellation', 'kündig' matches 'kündigen').
3. Negation. A match with a negation word ('not', "don't", 'never', 'nicht', 'kein',
   'pas', 'no', 'niet', 'geen' ...) among the four words before it (German and Dutch also
   the two words after it: 'wir kündigen nicht') does not count. "We do NOT want to
   cancel" written to a cancellation desk means the customer stays: when nothing else
   matches, a negated cancel or pause becomes 'withdraw' with confidence 'low'.
4. Questions. A cancel phrase in a sentence that ends in '?' and is not a polite request
   ('could you please cancel ...?') does not ask for anything: 'What happens if I cancel?'
   is 'at_risk' (the customer is weighing it; a person should answer) with confidence
   'low'. Questions about pausing or changing ('can we pause for a month?') are requests.
   A new text that is only 'STOP' is 'stop' (the classic answer to a win-back letter).
5. Precedence when several intents match: withdraw > pause > change > cancel > stop >
   at_risk. 'Please disregard my cancellation' is withdraw; 'pause instead of cancel'
   is pause; 'reduce the budget rather than cancel' is change; 'we are talking to another
   agency and want to cancel' is cancel.
6. Confidence: 'high' when the winner matched two or more phrases or matched in both subject
   and text, 'medium' for one plain match, 'low' for the derived cases above.
   Nothing matched: Intent('other', (), 'low').

Tuning: DEFAULT_PHRASES maps intent -> language -> phrases. Operators give their own in
configuration; `merge_phrases(DEFAULT_PHRASES, configured, replace=False)` extends the
defaults per intent and language (replace=True drops the defaults of every language the
configuration names), and the result is passed to classify_intent(phrases=...).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Sequence

from parsers.intent_phrases import DEFAULT_PHRASES, NEGATIONS, POLITE_REQUEST

PRECEDENCE = ('withdraw', 'pause', 'change', 'cancel', 'stop', 'at_risk')
_REPLY_PREFIX = re.compile(r'^\s*(?:re|aw|antw|sv|wg|fw|fwd|tr|rv|r|doorst)\s*(?:\[\d+\])?\s*:', re.IGNORECASE)
_POST_NEGATION = {'nicht', 'niet', 'nie', 'nimmer'}

__all__ = ['DEFAULT_PHRASES', 'Intent', 'classify_intent', 'extract_services', 'merge_phrases', 'PRECEDENCE']


@dataclass(frozen=True)
class Intent:
    """kind: 'cancel'|'pause'|'change'|'at_risk'|'withdraw'|'stop'|'other'; matched: what decided it."""

    kind: str
    matched: tuple[str, ...]
    confidence: str


def merge_phrases(defaults: Mapping, configured: Mapping, replace: bool = False) -> Mapping:
    """Defaults extended (or, per language, replaced) by configured intent -> language -> phrases."""
    merged: dict[str, dict[str, tuple[str, ...]]] = {i: dict(langs) for i, langs in defaults.items()}
    for intent, languages in configured.items():
        target = merged.setdefault(intent, {})
        for language, phrases in languages.items():
            base = () if replace else target.get(language, ())
            target[language] = tuple(dict.fromkeys(tuple(base) + tuple(phrases)))
    return MappingProxyType({i: MappingProxyType(langs) for i, langs in merged.items()})


def classify_intent(subject: str, new_text: str, phrases: Mapping = DEFAULT_PHRASES) -> Intent:
    """The customer's intent, explained by the phrases that matched (see the module docstring)."""
    if _normalise(new_text or '').strip(' .!') == 'stop':  # the classic one-word reply to a letter
        return Intent('stop', ('stop',), 'high')
    sources = [('text', s) for s in _sentences(new_text)]
    if subject and not _REPLY_PREFIX.match(subject):
        sources.append(('subject', subject))
    table = _phrase_table(phrases)
    hits: dict[str, list[tuple[str, str]]] = {}
    negated, questions = [], []
    for where, sentence in sources:
        for intent, phrase, state in _matches(sentence, table):
            bucket = {'plain': hits.setdefault(intent, []), 'negated': negated, 'question': questions}[state]
            bucket.append((where, phrase) if state == 'plain' else (intent, phrase))
    return _decide({k: v for k, v in hits.items() if v}, negated, questions)


def _decide(hits: dict, negated: list, questions: list) -> Intent:
    for kind in PRECEDENCE:
        if kind in hits:
            phrases = tuple(dict.fromkeys(p for _, p in hits[kind]))
            both = len({w for w, _ in hits[kind]}) > 1
            return Intent(kind, phrases, 'high' if len(phrases) > 1 or both else 'medium')
    if questions:
        return Intent('at_risk', tuple(f'question: {p}' for _, p in questions), 'low')
    stays = [p for intent, p in negated if intent in ('cancel', 'pause')]
    if stays:
        return Intent('withdraw', tuple(f'not: {p}' for p in stays), 'low')
    return Intent('other', (), 'low')


def _sentences(text: str) -> list[str]:
    parts = re.split(r'(?<=[.!?])\s+|\n+', text or '')
    return [p.strip() for p in parts if p.strip()]


def _phrase_table(phrases: Mapping) -> list[tuple[str, list[str]]]:
    """Per intent, its phrases of every language, normalised, unique, longest first."""
    return [(intent, sorted(_all_phrases(languages), key=len, reverse=True))
            for intent, languages in phrases.items()]


def _matches(sentence: str, table: list[tuple[str, list[str]]]):
    """(intent, phrase, 'plain'|'negated'|'question') for every phrase found in `sentence`."""
    lowered = _normalise(sentence)
    question = lowered.rstrip().endswith('?') and not POLITE_REQUEST.search(lowered)
    for intent, ordered in table:
        seen: set[int] = set()  # 'cancel' and 'cancelar' at one spot are one match
        for phrase in ordered:
            for match in _phrase_pattern(phrase).finditer(lowered):
                if match.start() not in seen:
                    seen.add(match.start())
                    yield intent, phrase, _state(lowered, match, question, intent)


def _state(lowered: str, match: re.Match, question: bool, intent: str) -> str:
    if _is_negated(lowered, match.start(), match.end()) and intent != 'withdraw':
        return 'negated'
    # Only cancelling is demoted by a question: 'can we pause for a month?' asks for a pause.
    return 'question' if question and intent == 'cancel' else 'plain'


def _all_phrases(languages: Mapping[str, Sequence[str]]) -> list[str]:
    return list(dict.fromkeys(_normalise(p) for phrases in languages.values() for p in phrases))


def _normalise(text: str) -> str:
    return re.sub(r'\s+', ' ', text.replace('\u2019', "'").replace('\u00a0', ' ')).casefold()


_PATTERNS: dict[str, re.Pattern] = {}


def _phrase_pattern(phrase: str) -> re.Pattern:
    """Whole words; a final word of five letters or more may carry an ending (a stem)."""
    if phrase not in _PATTERNS:
        body = r'\s+'.join(map(re.escape, phrase.split()))
        last = phrase.split()[-1] if phrase.split() else ''
        tail = r'\w*' if len(last) >= 5 and last[-1].isalpha() else r'(?!\w)'
        _PATTERNS[phrase] = re.compile(r'(?<!\w)' + body + tail)
    return _PATTERNS[phrase]


def _is_negated(lowered: str, start: int, end: int) -> bool:
    before = re.findall(r"[\w']+", lowered[:start])[-4:]
    after = re.findall(r"[\w']+", lowered[end:])[:2]
    if any(word in NEGATIONS or word.endswith("n't") for word in before):
        return True
    return any(word in _POST_NEGATION for word in after)


def extract_services(text: str, known_services: Sequence[str] | Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Canonical service names mentioned in `text`, in order of first mention.

    `known_services` is either a list of names or a mapping canonical name -> aliases
    ({'PPC': ['Google Ads', 'AdWords']}); matching is case-insensitive and whole-word.
    """
    aliases = known_services if isinstance(known_services, Mapping) else {s: () for s in known_services}
    found: list[tuple[int, str]] = []
    for canonical, names in aliases.items():
        for name in (canonical, *names):
            match = re.search(r'(?<!\w)' + r'\s+'.join(map(re.escape, name.split())) + r'(?!\w)', text or '',
                              re.IGNORECASE)
            if match and name.strip():
                found.append((match.start(), canonical))
    return tuple(dict.fromkeys(canonical for _, canonical in sorted(found)))
