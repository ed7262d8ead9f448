"""Parse stage, dates: the dates a customer names in free text ('at the end of March').

Rules: ISO dates; '31 March 2027', 'March 31, 2027', 'March 31' (next occurrence on or after
today); numeric '31/03/2027' (day first unless day_first=False; an impossible reading falls
back to the other order); 'end of March' = last day of the next March on or after today;
'end of the month' / 'end of next month' and their forms in German, French, Spanish, Dutch
and Portuguese ('Monatsende', 'fin de mes', 'einde van de maand', 'fim do mês'). Month names
in those six languages. Matches never overlap: at one position the longest reading wins.
`asks_for_term_end` tells whether the customer names the end of the contract term instead.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date

MONTHS = {
    1: ("january", "jan", "januar", "jänner", "janvier", "enero", "januari", "janeiro"),
    2: ("february", "feb", "februar", "février", "fevrier", "febrero", "februari", "fevereiro"),
    3: ("march", "mar", "märz", "maerz", "mars", "marzo", "maart", "março", "marco"),
    4: ("april", "apr", "avril", "abril"),
    5: ("may", "mai", "mayo", "mei", "maio"),
    6: ("june", "jun", "juni", "juin", "junio", "junho"),
    7: ("july", "jul", "juli", "juillet", "julio", "julho"),
    8: ("august", "aug", "août", "aout", "agosto", "augustus"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "setembro"),
    10: ("october", "oct", "oktober", "octobre", "octubre", "outubro"),
    11: ("november", "nov", "novembre", "noviembre", "novembro"),
    12: ("december", "dec", "dezember", "décembre", "decembre", "diciembre", "dezembro"),
}
_BY_NAME = {name: number for number, names in MONTHS.items() for name in names}
_MONTH = "(?P<month>" + "|".join(sorted(map(re.escape, _BY_NAME), key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|\.|º)?"
_YEAR = r"(?P<year>\d{4})"
_END = (
    r"(?:end\s+of|ende|fin(?:\s+de)?|final(?:es)?\s+de|eind(?:e)?(?:\s+van)?|fim\s+de|final\s+de|"
    r"fim\s+do|final\s+do)"
)
_THIS_MONTH = (
    r"(?:(?:the|this|the\s+current|diesen|dieses|des|du|ce|este|del|de\s+la|de|deze|do|deste)\s+)?"
    r"(?:month|monats?|mois|mes|maand|mês|mes\s+actual|mes\s+corrente)"
)
_NEXT_MONTH = (
    r"(?:next|the\s+next|the\s+following|nächsten|naechsten|kommenden|du\s+mois\s+prochain|"
    r"(?:del\s+)?(?:mes\s+)?(?:que\s+viene|próximo|proximo|siguiente)|volgende|(?:do\s+)?próximo)"
    r"(?:\s+(?:month|monats?|mois|mes|maand|mês))?"
)
# 'Monatsende', 'zum Monatsende', 'fin de mes', 'einde van de maand' are the end of this month too.
_MONTH_END = r"(?:monatsende|ultimo|fin\s+de\s+mes|fin\s+de\s+mois|maandeinde|final\s+do\s+mês|fim\s+do\s+mês)"
# Contract-relative: 'when our contract ends', 'at the end of the term', 'after the minimum term'.
TERM_END = re.compile(
    r"(?:contract|agreement|term|subscription)\s+(?:ends|expires|runs\s+out)|end\s+of\s+(?:the\s+|our\s+|my\s+)?"
    r"(?:current\s+)?(?:contract|term|agreement|subscription|minimum\s+term|contract\s+term)|"
    r"after\s+the\s+minimum\s+term|(?:zum|am)\s+(?:ende\s+der\s+)?(?:vertragslaufzeit|laufzeitende|mindestlaufzeit)|"
    r"nächstmöglichen\s+zeitpunkt|naechstmoeglichen\s+zeitpunkt|fin\s+(?:du|de\s+notre)\s+(?:contrat|engagement)|"
    r"[ée]ch[ée]ance|final\s+del\s+contrato|fin\s+del\s+contrato|einde\s+van\s+(?:het|ons)\s+contract|"
    r"looptijd|fim\s+do\s+contrato|final\s+do\s+contrato|when\s+it\s+(?:ends|expires|runs\s+out)|"
    # Not renewing is leaving when the term ends.
    r"(?:not|n't|won't)\s+(?:be\s+)?renew|nicht\s+(?:mehr\s+)?verl(?:ä|ae|a)nger|ne\s+(?:\w+\s+)?renouvel|"
    r"(?:no|não|nao)\s+(?:\w+\s+)?renov|niet\s+(?:meer\s+)?verleng",
    re.IGNORECASE,
)

Handler = Callable[[dict, date, bool], "date | None"]


def last_day(year: int, month: int) -> date:
    """Last calendar day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 31 February and friends: not a date, so not a match
        return None


def _month(groups: dict) -> int:
    return _BY_NAME[groups["month"].lower()]


def _upcoming(groups: dict, today: date, month: int, day: int) -> date | None:
    """With a year, that date; without, the next occurrence on or after today."""
    if groups.get("year"):
        return _make(int(groups["year"]), month, day)
    this_year = _make(today.year, month, day)
    if this_year is not None and this_year >= today:
        return this_year
    return _make(today.year + 1, month, day)


def _iso(g: dict, today: date, day_first: bool) -> date | None:
    return _make(int(g["year"]), int(g["m"]), int(g["d"]))


def _numeric(g: dict, today: date, day_first: bool) -> date | None:
    first, second, year = int(g["a"]), int(g["b"]), int(g["y"])
    year = year + 2000 if year < 100 else year
    day, month = (first, second) if day_first else (second, first)
    return _make(year, month, day) or _make(year, day, month)


def _day_month(g: dict, today: date, day_first: bool) -> date | None:
    return _upcoming(g, today, _month(g), int(g["day"]))


def _end_of_named_month(g: dict, today: date, day_first: bool) -> date | None:
    month = _month(g)
    if g.get("year"):
        return last_day(int(g["year"]), month)
    end = last_day(today.year, month)
    return end if end >= today else last_day(today.year + 1, month)


def _end_of_this_month(g: dict, today: date, day_first: bool) -> date | None:
    return last_day(today.year, today.month)


def _end_of_next_month(g: dict, today: date, day_first: bool) -> date | None:
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return last_day(year, month)


_B, _E = r"(?<![\w/.-])", r"(?![\w/-])"
PATTERNS: tuple[tuple[re.Pattern, Handler], ...] = tuple(
    (re.compile(p, re.IGNORECASE), h)
    for p, h in (
        (_B + r"(?P<year>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _E, _iso),
        (_B + r"(?P<a>\d{1,2})[./](?P<b>\d{1,2})[./](?P<y>\d{4}|\d{2})" + _E, _numeric),
        (
            _END + r"\s+(?:of\s+)?(?:the\s+month\s+of\s+)?" + _MONTH + r"(?:\s+" + _YEAR + r")?(?!\w)",
            _end_of_named_month,
        ),
        (_END + r"\s+(?:of\s+)?" + _THIS_MONTH + r"(?!\w)", _end_of_this_month),
        (_END + r"\s+(?:of\s+)?" + _NEXT_MONTH + r"(?!\w)", _end_of_next_month),
        (r"(?<!\w)" + _MONTH_END + r"(?!\w)", _end_of_this_month),
        (r"(?<!\w)" + _DAY + r"\s*(?:of\s+|de\s+)?" + _MONTH + r"(?:,?\s+" + _YEAR + r")?(?!\w)", _day_month),
        (r"(?<!\w)" + _MONTH + r"\s+" + _DAY + r"(?:,?\s+" + _YEAR + r")?(?![\w:])", _day_month),
    )
)


def asks_for_term_end(text: str) -> bool:
    """The customer wants to leave when the contract term ends ('when our contract ends')."""
    return bool(TERM_END.search(text or ""))


def extract_dates(text: str, today: date, day_first: bool = True) -> tuple[date, ...]:
    """Dates named in `text`, in order of appearance, without repeats."""
    found = []
    for pattern, handler in PATTERNS:
        for match in pattern.finditer(text or ""):
            value = handler(match.groupdict(), today, day_first)
            if value is not None:
                found.append((match.start(), -(match.end() - match.start()), match.end(), value))
    return tuple(dict.fromkeys(value for value in _non_overlapping(sorted(found))))


def _non_overlapping(found: list[tuple[int, int, int, date]]):
    end = -1
    for start, _length, stop, value in found:
        if start >= end:
            end = stop
            yield value
