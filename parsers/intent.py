"""Classify stage helper: what does the customer want? New text in, an explainable Intent out.

How it reads (the README quotes this):

1. Text. Only the sender's new words (never the quoted history, signature or forwarded
   headers), at most `max_chars` of them; the subject too unless it is a reply or forward
   ('Re:', 'AW:', 'Fwd:' ...). Addresses, URLs and machine tokens are not words.
   The text is cut into clauses (`parsers.clauses`).
2. Requests. A request is an action (cancel, end, terminate, close, delete, remove,
   deactivate, discontinue, quit, stop, 'get rid of', 'no longer want', 'not renew', 'give
   notice'; pause; downgrade or reduce) applied, inside one clause, to an object that makes
   it ours (the account, contract, subscription, services, plan, retainer, 'everything',
   'with you', a configured service). The object nearest the action decides: an order, a
   payment, a transfer, a reservation, a meeting, a newsletter, a card or a bank account make
   it somebody else's business. Verbs that mean ending a contract by themselves
   ('kündigen', 'résilier', 'opzeggen', 'give notice') need no object. 'it' and 'this' are
   ours when the mail names something of ours elsewhere. Vocabulary: `parsers.intent_lexicon`,
   stems with their endings in en, de, fr, es, nl and pt; an action word of five letters or
   more is also read through one typo ('cancle', 'clsoe').
3. What else the clause says. A negation anywhere in the clause (before or after the action:
   'wir kündigen nicht') means the customer stays; a past event ('was cancelled') asks for
   nothing; a question about leaving ('How do I close my account?') becomes 'question' (the
   desk asks back), unless it is a polite request ('Could you please cancel my contract?');
   a question about fees or the policy, or a conditional ('if I cancel ...'), is 'at_risk'.
   An action without any object ('please cancel') is a 'question' too: the desk asks what is
   meant. 'pause instead of cancelling': the action after 'instead of' does not count.
4. Deciding. Requests win (pause before change before cancel, each service keeping its own); 'changed my mind' and other
   withdrawals win only when no request follows them; then questions, withdrawals (negated
   requests included), newsletters ('stop'), at-risk signals; else 'other'.
5. Scope. Each configured service named is cancel, keep, pause or change by its clause
   ('cancel PPC but keep SEO', 'everything except Social'); a clause that only names a
   service continues the list of the clause before it ('cancel SEO and PPC').

Every decision keeps its clause, action, object and rule (`Intent.readings`).
Operators add phrases per intent and language in configuration (`merge_phrases`); an added
cancel/pause/change phrase is a whole request by itself.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from parsers import intent_lexicon as lex
from parsers.clauses import Clause, clauses, fold, own_words
from parsers.headers import is_answer_subject
from parsers.intent_phrases import DEFAULT_PHRASES

# A mail asking for several: a pause or change is the gentler reading ('downgrade PPC and drop Social').
PRECEDENCE = ("pause", "change", "cancel")
_REQUEST_RULES = ("request", "configured phrase", "the subject names the request")
REQUEST_KINDS = frozenset(PRECEDENCE)
MAX_CHARS = 20_000
DEFAULT_SERVICES = ("SEO", "PPC", "Social", "Content", "Email", "Website")
# An automatic reply carries the subject of the mail it answers, like 'Re:'; a subject that
# opens with 'Question about ...' names a topic. Neither subject asks for anything.
_NOT_A_REQUEST_SUBJECT = re.compile(
    r"^\s*(?:(?:automatic|auto|automatische|automatisch|r[ée]ponse automatique|respuesta autom[áa]tica|"
    r"resposta autom[áa]tica|risposta automatica)\s*(?:reply|antwort|antwoord)?|out of (?:the )?office|"
    r"abwesenheit(?:snotiz)?|absence|ausente|afwezig|question|frage|pregunta|duda|consulta|vraag|d[úu]vida|"
    r"pergunta)\b",
    re.IGNORECASE,
)
# 'Kündigungen', 'cancellations', 'opzeggingen': a plural names the kind of thing ('for cancellations,
# write to ...'); a customer asks for the cancellation of their own contract in the singular.
_PLURAL_NOUN = re.compile(r"(?:ations|tions|ungen|ingen|ciones|coes|mentos)$")
_TOPIC_PREPOSITION = re.compile(r"\b(?:for|about|with|bei|fur|uber|zu|pour|sur|para|por|sobre|voor|bij|over)\s+$")

__all__ = [
    "DEFAULT_PHRASES",
    "Intent",
    "Reading",
    "classify_intent",
    "merge_phrases",
    "PRECEDENCE",
    "MAX_CHARS",
    "service_names",
]


def _any(patterns: Iterable[str]) -> re.Pattern:
    return re.compile(r"(?<![\w\'-])(?:" + "|".join(f"(?:{p})" for p in patterns) + r")(?![\w-])")


_ACTIONS = {kind: _any(patterns) for kind, patterns in lex.ACTIONS.items()}
_CONTRACT_VERB = _any(lex.CONTRACT_VERBS)
_CHANGE_OBJECT = re.compile("|".join(f"(?:{p})" for p in lex.CHANGE_OBJECTS))
_DESK_VERB = re.compile("|".join(f"(?:{p})" for p in lex.DESK_VERBS))
_OURS, _NOT_OURS, _PRONOUN = _any(lex.OURS), _any(lex.NOT_OURS), _any(lex.PRONOUNS)
_NEGATION = re.compile(r"(?<![\w])(?:" + "|".join(lex.NEGATIONS) + r")(?![\w])|n't\b")
_KEEP, _EXCEPT, _ALL = _any(lex.KEEP), _any(lex.EXCEPT), _any(lex.ALL)
_INSTEAD, _POLITE, _FEES, _WEIGHING = _any(lex.INSTEAD), _any(lex.POLITE), _any(lex.FEES), _any(lex.WEIGHING)
_QUESTION_OPENER = re.compile(r"^(?:\w+ )?(?:" + "|".join(lex.QUESTION_OPENERS) + r")\b")
_CONDITIONAL = re.compile(r"^(?:" + "|".join(lex.CONDITIONAL) + r")\b")
_PAST_AUX = _any(lex.PAST_AUX)
_FUTURE_PASSIVE = re.compile(r"(?:" + "|".join(lex.FUTURE_PASSIVE) + r") $")
_SUBJECT = re.compile(r"(?:^|\b)(?:" + "|".join(lex.SUBJECT_PRONOUNS) + r") (?:\w+ )?$")
_PARTICIPLE_ENDINGS = ("iert", "ado", "ada", "ados", "adas", "ido", "ida", "ee", "ees", "eerd", "igd")
_PREPOSITION_BEFORE = re.compile(
    r"\b(?:to|into|in|from|on|at|for|of|zu|auf|von|vom|zum|im|bei|dans|de|du|sur|en|del|desde|naar|op|van|bij|em|"
    r"no|na|para|do|da) ((?:[\w\']+\s){0,3})$"
)
_FRENCH_AUX = re.compile(r"\b(?:a ete|ont ete|est|sont|deja|ai|avons|j'ai|a)\s+(?:\w+ )?$")
_OF_THING = re.compile(
    r" (?:on|from|in|off|of|auf|von|in|de|du|des|van|em|do|da|en) (?:\w+ ){0,2}?("
    + "|".join(f"(?:{p})" for p in lex.NOT_OURS)
    + r")\b"
)
_WITHDRAW, _STOP = _any(lex.WITHDRAW), _any(lex.STOP)
_KNOWN_FORM = re.compile(
    "|".join(f"(?:{p})" for patterns in lex.ACTIONS.values() for p in patterns)
    + "|"
    + "|".join(f"(?:{p})" for p in (*lex.OURS, *lex.NOT_OURS))
)
_KNOWN_VERB = re.compile("|".join(f"(?:{p})" for patterns in lex.ACTIONS.values() for p in patterns))
_DETERMINER = re.compile(r"^(?:(?:the|our|my|also|die|den|das|le|la|les|el|los|las|het|de|o|a|os|as)\s)+")
_TOPIC = re.compile(r"\s*(?:\w+\s)?(?:" + "|".join(lex.FEES) + r")\b")
_WORD = re.compile(r"[\w']+")
_ACCOUNT = re.compile(r"accounts?|kont\w*|comptes?|cuentas?|contas?")


@dataclass(frozen=True)
class Reading:
    """One decision about one clause: what was read and which rule decided it."""

    clause: str
    action: str  # the action words as written (folded), '' when none
    object: str  # the object words, '' when none
    rule: str  # 'request', 'negated', 'question', 'fee-question', 'past', 'not-ours', ...
    kind: str = ""  # the action's kind: cancel, pause, change; or withdraw, stop, at_risk, keep

    def __str__(self) -> str:
        parts = [f"{self.rule}", f'"{self.clause}"']
        if self.action:
            parts.append(f"action={self.action!r}")
        if self.object:
            parts.append(f"object={self.object!r}")
        return " ".join(parts)


@dataclass(frozen=True)
class Intent:
    """kind: 'cancel'|'pause'|'change'|'question'|'at_risk'|'withdraw'|'stop'|'other'.

    matched: the deciding readings in short; readings: every clause decision; scope: each
    service named with 'cancel', 'pause', 'change' or 'keep'; everything: 'all of it' asked.
    """

    kind: str
    matched: tuple[str, ...]
    confidence: str
    readings: tuple[Reading, ...] = ()
    scope: tuple[tuple[str, str], ...] = ()
    everything: bool = False
    asks: str = ""  # for 'question': the kind of request the customer asks about

    @property
    def services(self) -> tuple[str, ...]:
        """The services in scope of the request (kept ones never are)."""
        return tuple(s for s, verdict in self.scope if verdict in REQUEST_KINDS)

    @property
    def kept(self) -> tuple[str, ...]:
        return tuple(s for s, verdict in self.scope if verdict == "keep")

    def explain(self) -> list[str]:
        """One line per clause decision, for replay and the log."""
        return [str(r) for r in self.readings]


def merge_phrases(defaults: Mapping, configured: Mapping, replace: bool = False) -> Mapping:
    """Defaults extended (or, per language, replaced) by configured intent -> language -> phrases."""
    merged: dict[str, dict[str, tuple[str, ...]]] = {i: dict(langs) for i, langs in defaults.items()}
    for intent, languages in configured.items():
        target = merged.setdefault(intent, {})
        for language, phrases in languages.items():
            base = () if replace else target.get(language, ())
            target[language] = tuple(dict.fromkeys(tuple(base) + tuple(phrases)))
    return MappingProxyType({i: MappingProxyType(langs) for i, langs in merged.items()})


def service_names(services: Sequence[str], aliases: Mapping[str, Sequence[str]] | None = None) -> dict:
    """Each configured service with its configured aliases and the built-in names in six languages."""
    aliases = aliases or {}
    return {s: tuple(dict.fromkeys((*aliases.get(s, ()), *lex.SERVICE_WORDS.get(s.casefold(), ())))) for s in services}


def classify_intent(
    subject: str,
    new_text: str,
    phrases: Mapping = DEFAULT_PHRASES,
    services: Mapping[str, Sequence[str]] | Sequence[str] = DEFAULT_SERVICES,
    max_chars: int = MAX_CHARS,
) -> Intent:
    """The customer's intent, explained clause by clause (see the module docstring)."""
    text = own_words((new_text or "")[:max_chars])
    if fold(text).strip(" .!") == "stop":  # the classic one-word reply to a letter
        return Intent("stop", ("stop",), "high", (Reading("stop", "stop", "", "one-word stop", "stop"),))
    reader = _Reader(phrases, services)
    parts = clauses(text, opens_question=_opens_question)
    if subject and not is_answer_subject(subject) and not _NOT_A_REQUEST_SUBJECT.match(subject):
        parts = clauses(subject[:500], where="subject", first_sentence=-1, opens_question=_opens_question) + parts
    readings = _subject_alone(reader.read(parts), reader, text)
    return _decide(readings, reader.scope(parts, readings))


def _subject_alone(readings: list, reader: _Reader, text: str) -> list:
    """Subject 'Cancel' or 'Kündigung' over a text that says nothing we can read: the subject is the request.

    Only when the text names nothing of anybody else's (an order, a payment ...), and the
    subject is a bare action, not a question ('Cancel?').
    """
    body = [r for c, r in readings if c.where == "text"]
    subject = [(c, r) for c, r in readings if c.where == "subject"]
    if body or len(subject) != 1 or reader.mentions_not_ours(text):
        return readings
    clause, reading = subject[0]
    if (
        reading.rule != "no object: asked to confirm"
        or clause.question
        or reading.kind not in REQUEST_KINDS | {"question"}
    ):
        return readings
    kind = _asked([reading])
    return [(clause, Reading(reading.clause, reading.action, "", "the subject names the request", kind))]


def _opens_question(folded_sentence: str) -> bool:
    return bool(_QUESTION_OPENER.match(folded_sentence)) and not _POLITE.search(folded_sentence)


# Made once per distinct set of names and phrases, not per mail: folding and escaping
# every phrase of the configuration costs more than reading a mail.
@functools.lru_cache(maxsize=8)
def _patterns(
    names: tuple[tuple[str, tuple[str, ...]], ...], phrases: tuple[tuple[str, tuple[str, ...]], ...]
) -> tuple[dict[str, re.Pattern], dict[str, re.Pattern]]:
    """A pattern per service (its name and aliases) and per kind of request (its extra phrases)."""
    # 'SEO-Betreuung', 'Content-Erstellung': a service name may start a compound.
    services = {
        canonical: re.compile(
            r"(?<!\w)(?:"
            + "|".join(re.escape(fold(n)).replace(r"\ ", " ") for n in (canonical, *aliases) if n.strip())
            + r")(?!\w)"
        )
        for canonical, aliases in names
    }
    extra = {kind: _any(re.escape(fold(p)) for p in kind_phrases) for kind, kind_phrases in phrases if kind_phrases}
    return services, extra


class _Reader:
    """Reads clauses one by one; remembers whether the mail named something of ours."""

    def __init__(self, phrases: Mapping, services) -> None:
        names = service_names(list(services), services if isinstance(services, Mapping) else None)
        self.services, self.extra = _patterns(
            tuple((canonical, tuple(aliases)) for canonical, aliases in names.items()),
            tuple(
                (kind, tuple(p for ps in phrases.get(kind, {}).values() for p in ps))
                for kind in ("cancel", "pause", "change", "at_risk", "withdraw", "stop")
            ),
        )
        self.ours_named = False

    def read(self, parts: list[Clause]) -> list[tuple[Clause, Reading]]:
        self.last_object: tuple[str, bool] | None = None  # what 'it' and 'this' point back to
        out: list[tuple[Clause, Reading]] = []
        for index, clause in enumerate(parts):
            following = parts[index + 1] if index + 1 < len(parts) else None
            out.extend((clause, r) for r in self._clause(clause, following))
            nouns = self._nouns(_untypo(clause.folded), None, direct_only=True)
            named = [n for n in nouns if self._service_of(n[2])]
            if named or nouns:  # a service named is the most precise thing 'it' can point back to
                last = max(named or nouns)
                self.last_object = (last[2], last[3])
        return out

    def _nouns(
        self, folded: str, action: re.Match | None, direct_only: bool = False
    ) -> list[tuple[int, int, str, bool]]:
        """Objects named in a clause (start, end, words, ours?), outside the action's words, longest first."""
        words = [(m.start(), m.end()) for m in _WORD.finditer(action.group())] if action else []
        # The action's own first and last words are not objects; words inside it are ('zeg het abonnement op').
        edges = [(action.start() + s, action.start() + e) for s, e in (words[:1] + words[-1:])]
        found = [(s, e, w, True) for s, e, w in self._ours_spans(folded)]
        found += [(m.start(), m.end(), m.group(), False) for m in _NOT_OURS.finditer(folded)]
        found = [c for c in found if not any(c[0] < e and s < c[1] for s, e in edges)]
        found = [
            c for c in found if not any(o[0] <= c[0] and c[1] <= o[1] and (o[1] - o[0]) > (c[1] - c[0]) for o in found)
        ]
        # 'sent money to the wrong account': a noun after a preposition is where, not what.
        direct = [c for c in found if not _after_preposition(folded[: c[0]])]
        return direct if direct or direct_only else found

    def mentions_not_ours(self, text: str) -> bool:
        return bool(_NOT_OURS.search(fold(text)))

    def _ours_spans(self, folded: str) -> list[tuple[int, int, str]]:
        spans = [(m.start(), m.end(), m.group()) for m in _OURS.finditer(folded)]
        for pattern in self.services.values():
            spans += [(m.start(), m.end(), m.group()) for m in pattern.finditer(folded)]
        return spans

    def _clause(self, clause: Clause, following: Clause | None) -> list[Reading]:
        folded = _untypo(clause.folded)
        for kind in ("withdraw", "stop"):
            found = _STOP.search(folded) if kind == "stop" else _WITHDRAW.search(folded)
            extra = self.extra.get(kind)
            found = found or (extra.search(folded) if extra else None)
            if found:
                return [Reading(clause.text, found.group(), "", kind, kind)]
        configured = [(kind, m) for kind in PRECEDENCE if kind in self.extra for m in self.extra[kind].finditer(folded)]
        if configured:
            kind, match = configured[0]
            return [Reading(clause.text, match.group(), "", "configured phrase", kind)]
        actions = _actions(folded)
        if not actions:
            risk = self.extra.get("at_risk")
            if risk and risk.search(folded):
                return [Reading(clause.text, "", "", "at-risk phrase", "at_risk")]
            return []
        return [self._action(clause, folded, kind, match, following) for kind, match in actions[:1]]

    def _action(self, clause: Clause, folded: str, kind: str, action: re.Match, following) -> Reading:
        obj, ours = self._object(folded, action)
        if obj is None and following is not None and not _actions(following.folded):
            # 'please cancel, effective March, our SEO contract': the object is in the next clause.
            obj, ours = self._object(following.folded, None)
        verb = action.group()

        def reading(rule: str, final_kind: str = kind) -> Reading:
            return Reading(clause.text, verb, obj or "", rule, final_kind)

        if _is_past(folded, action):
            return reading("past event")
        if _PLURAL_NOUN.search(verb.split()[-1]) and (not ours or _TOPIC_PREPOSITION.search(folded[: action.start()])):
            return reading("a topic (plural)", "topic")
        if _negated(folded, action):
            return reading("negated")
        if obj is not None and not ours:
            return reading("not ours")
        if _TOPIC.match(folded[action.end() :]):
            # 'the cancellation policy', 'Kündigungsfrist': the word names a topic, it asks for nothing.
            return reading("fee or policy question", "at_risk") if clause.question else reading("a topic", "topic")
        if clause.question and _FEES.search(clause.sentence_text or folded):
            return reading("fee or policy question", "at_risk")
        if _CONDITIONAL.match(folded):
            return reading("conditional", "question" if clause.question else "at_risk")
        if _WEIGHING.search(clause.before + " " + folded[: action.start()]):
            return reading("weighing it", "at_risk")
        if kind != "cancel" and obj is not None and _ACCOUNT.fullmatch(obj):
            return reading("an account is closed, not paused or changed")
        if kind == "change" and obj is not None and not (_CHANGE_OBJECT.fullmatch(obj) or self._service_of(obj)):
            return reading("not something of ours to change")
        if obj is None and _INSTEAD.search(folded):
            obj = "instead of " + folded[_INSTEAD.search(folded).end() :].strip()  # 'pause instead of cancelling'
        if obj is None and not _CONTRACT_VERB.search(folded):
            if _DESK_VERB.fullmatch(verb):
                return reading("no object: asked to confirm", "question")
            return reading("no object", "")  # 'I will stop by on Friday'
        # 'Can we pause for a month?' asks for the pause; a question about cancelling weighs it.
        if clause.question and kind == "cancel" and not _POLITE.search(folded):
            return reading("question about leaving", "question")
        return reading("request")

    def _object(self, folded: str, action: re.Match | None) -> tuple[str | None, bool]:
        """The object nearest the action: (words, ours?), or (None, False) when none.

        'everything on my to-do list' is about the list; 'it' and 'this' point back to the
        last thing named before them, in this clause or an earlier one.
        """
        start, end = (action.start(), action.end()) if action else (0, 0)
        nouns = self._nouns(folded, action)
        if nouns:
            nearest = min(nouns, key=lambda c: c[0] - end if c[0] >= end else start - c[1])
            if nearest[3] and _ALL.fullmatch(nearest[2]):
                inner = _OF_THING.match(folded[nearest[1] :])
                if inner:
                    return inner.group(1), False
            return nearest[2], nearest[3]
        pronoun = next((m for m in _PRONOUN.finditer(folded) if m.end() <= start or m.start() >= end), None)
        if pronoun is not None and self.last_object is not None:
            return self.last_object
        return None, False

    def _starts_with_service(self, folded: str) -> bool:
        rest = _DETERMINER.sub("", folded, count=1)
        return any(pattern.match(rest) for pattern in self.services.values())

    def _service_of(self, words: str) -> str | None:
        return next((c for c, pattern in self.services.items() if pattern.fullmatch(words)), None)

    def scope(self, parts: list[Clause], readings: list[tuple[Clause, Reading]]) -> tuple[tuple, bool]:
        """(service, verdict) for every configured service a request names, and whether 'everything' was asked.

        A service is read by its own clause: a request's object ('cancel PPC', 'cancel it'
        after naming SEO), a keep verb ('keep SEO', 'SEO bleibt'), 'except' ('everything
        except Social'), or a clause that only lists more services ('... and PPC').
        """
        by_clause = {id(c): r for c, r in readings}
        verdicts: dict[str, str] = {}
        everything, previous = False, None
        for index, clause in enumerate(parts):
            reading = by_clause.get(id(clause))
            following = parts[index + 1] if index + 1 < len(parts) else None
            verdict = _verdict(reading, clause, previous, following, self._starts_with_service(clause.folded))
            previous = (clause.sentence, verdict) if verdict else None
            if verdict in REQUEST_KINDS and _ALL.search(clause.folded):
                everything = True
            resolved = self._service_of(reading.object) if reading is not None and reading.object else None
            if resolved and verdict:
                _set(verdicts, resolved, verdict)
            cut = _EXCEPT.search(clause.folded)
            for canonical, pattern in self.services.items():
                for m in pattern.finditer(clause.folded):
                    if cut and m.start() > cut.start() and verdict in REQUEST_KINDS:
                        _set(verdicts, canonical, "keep")
                    elif verdict:
                        _set(verdicts, canonical, verdict)
        return tuple(verdicts.items()), everything


def _set(verdicts: dict[str, str], service: str, verdict: str) -> None:
    """The first request verdict for a service stands; a keep always wins (kept is never in scope)."""
    if verdict == "keep" or service not in verdicts:
        verdicts[service] = verdict


def _after_preposition(before: str) -> bool:
    """'to the wrong account', 'for the dinner': a preposition governs the noun (no verb between)."""
    found = _PREPOSITION_BEFORE.search(before)
    return bool(found) and not any(_KNOWN_VERB.fullmatch(w) for w in found.group(1).split())


def _verdict(
    reading: Reading | None, clause: Clause, previous, following: Clause | None, lists_services: bool
) -> str | None:
    if _KEEP.search(clause.folded):
        return "keep"
    if reading is None:
        # 'SEO möchten wir aber behalten': the keep verb landed in the next clause.
        if (
            following is not None
            and following.sentence == clause.sentence
            and _KEEP.search(following.folded)
            and not _actions(following.folded)
        ):
            return "keep"
        # '... and PPC': a clause that starts with a service continues the list of the clause before.
        if previous and previous[0] == clause.sentence and lists_services:
            return previous[1]
        return None
    if reading.rule in _REQUEST_RULES:
        return reading.kind
    if reading.rule == "negated" and reading.kind == "cancel":
        return "keep"
    return None


def _actions(folded: str) -> list[tuple[str, re.Match]]:
    """Action matches in order, without those after 'instead of' ('pause instead of cancelling')."""
    instead = _INSTEAD.search(folded)
    found = [(kind, m) for kind, pattern in _ACTIONS.items() for m in pattern.finditer(folded)]
    found = [(k, m) for k, m in found if not (instead and m.start() >= instead.end())]
    return sorted(found, key=lambda km: (km[1].start(), PRECEDENCE.index(km[0])))


def _negated(folded: str, action: re.Match) -> bool:
    """A negation in the clause outside the action's own words ('no longer', 'not renew').

    Before the action any negation counts; after it only those that follow their verb
    ('wir kündigen nicht', 'je ne résilie pas'): Portuguese 'no fim' is 'at the end'.
    """
    for m in _NEGATION.finditer(folded):
        if action.start() <= m.start() < action.end():
            # Inside a separable verb ('zeg het contract niet op') it negates; in 'no longer' it is the verb.
            without = (folded[action.start() : m.start()] + folded[m.end() : action.end()]).replace("  ", " ").strip()
            if action.start() < m.start() and m.end() < action.end() and action.re.fullmatch(without):
                return True
            continue
        if m.start() < action.start() or m.group() in lex.LATE_NEGATIONS:
            return True
    return False


def _is_past(folded: str, action: re.Match) -> bool:
    """'was cancelled', 'I cancelled', 'wurde gekündigt', 'a été annulé': it happened; nothing is asked."""
    verb = action.group().split()[0]
    before = folded[: action.start()]
    if not _participle(verb, before) or _FUTURE_PASSIVE.search(before):
        return False
    words = before.split()[-4:]
    pairs = [" ".join(words[i : i + 2]) for i in range(len(words) - 1)]
    if any(_PAST_AUX.fullmatch(w) for w in words + pairs):
        return True
    return verb.endswith("ed") and bool(_SUBJECT.search(before))


def _participle(verb: str, before: str) -> bool:
    if verb.endswith("ed") or verb.endswith(_PARTICIPLE_ENDINGS):
        return True
    if verb.startswith(("ge", "op")) and verb.endswith(("t", "d", "en")):
        return True
    # French 'annulé(e)s' lost its accent: a participle only after 'a été', 'est', 'sont' ...
    return verb.endswith(("e", "es")) and bool(_FRENCH_AUX.search(before))


def _untypo(folded: str) -> str:
    """Action words written with one typo, read as the word ('cancle' -> 'cancel')."""
    return _WORD.sub(lambda m: _corrected(m.group()), folded)


@functools.lru_cache(maxsize=50_000)
def _corrected(word: str) -> str:
    if len(word) < 5 or word in lex.NOT_TYPOS or word in lex.TYPO_LEMMAS or _KNOWN_FORM.fullmatch(word):
        return word
    for form, lemma in lex.TYPO_LEMMAS.items():
        if word[0] == form[0] and abs(len(word) - len(form)) <= 1 and _one_edit(word, form):
            return lemma
    return word


def _one_edit(a: str, b: str) -> bool:
    """At most one insertion, deletion, substitution or swap of neighbours between a and b."""
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1 :]


def _decide(readings: list[tuple[Clause, Reading]], scoped: tuple[tuple, bool]) -> Intent:
    scope, everything = scoped
    only = [r for _, r in readings]
    requests = [r for r in only if r.rule in _REQUEST_RULES and r.kind in REQUEST_KINDS]
    withdrawals = [i for i, r in enumerate(only) if r.kind == "withdraw"]
    last_request = max((i for i, r in enumerate(only) if r in requests), default=-1)
    if requests and not (withdrawals and withdrawals[-1] > last_request):
        kind = next(k for k in PRECEDENCE if any(r.kind == k for r in requests))
        mine = [r for r in requests if r.kind == kind]
        where = {c.where for c, r in readings if r in mine}
        confidence = "high" if len(mine) > 1 or len(where) > 1 else "medium"
        return Intent(kind, _short(mine), confidence, tuple(only), scope, everything)
    for kind, confidence in (("withdraw", "medium"), ("question", "low"), ("at_risk", "low")):
        chosen = [r for r in only if r.kind == kind]
        if chosen:
            asks = _asked(chosen) if kind == "question" else ""
            return Intent(kind, _short(chosen), confidence, tuple(only), scope, everything, asks)
    stays = [r for r in only if r.rule == "negated" and r.kind in ("cancel", "pause")]
    if stays:
        return Intent("withdraw", tuple(f"not: {r.action}" for r in stays), "low", tuple(only), scope, everything)
    chosen = [r for r in only if r.kind == "stop"]
    if chosen:
        return Intent("stop", _short(chosen), "medium", tuple(only), scope, everything)
    return Intent("other", (), "low", tuple(only), scope, everything)


def _asked(chosen: list[Reading]) -> str:
    """The request the customer asks about: the action's own kind, cancel by default."""
    for r in chosen:
        for kind, pattern in _ACTIONS.items():
            if r.action and pattern.fullmatch(r.action):
                return kind
    return "cancel"


def _short(readings: list[Reading]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(" ".join(p for p in (r.action, r.object) if p) or r.rule for r in readings))
