"""How dates, times and amounts read in a mail: one style per mail, written by Babel.

A `Style` is a reader's language, zone and currency. A customer's mail takes the customer's
language and the account's zone; staff mail takes the desk's (`[desk] language` and
`timezone`). The template filters `day`, `moment`, `money` and `names` (daemon.mail.rendering) and
the sentences the desk writes in code for staff (command answers, timeline lines) both go
through here, so a mail never mixes '2027-03-31' with '31 March 2027'. A day a reader must
type back in a command ('#cancel SEO on 2027-03-31') is an example of the command, not
prose, and stays ISO.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, get_timezone_location
from babel.lists import format_list
from babel.numbers import format_currency

from parsers.language import DEFAULT as DEFAULT_LANGUAGE

# The desk writes British English: '1 March 2027', not 'March 1, 2027'.
_LOCALES = {"en": "en_GB"}


def locale_of(language: str) -> str:
    return _LOCALES.get(language, language)


# A request's dozen mails print the same few days and call times over and over, and Babel
# works each one out afresh (its locale data, patterns and zone names): remembered per
# value, zone and language, each is formatted once. Both are pure functions of their keys.
@lru_cache(maxsize=64)
def _babel(locale: str) -> Locale:
    return Locale.parse(locale)


@lru_cache(maxsize=4096)
def _long_day(value: date, locale: str) -> str:
    return format_date(value, format="long", locale=_babel(locale))


@lru_cache(maxsize=4096)
def _full_day(value: date, locale: str) -> str:
    return format_date(value, format="full", locale=_babel(locale))


@lru_cache(maxsize=4096)
def _moment_in(value: datetime, zone: str, locale: str) -> str:
    local = value.astimezone(ZoneInfo(zone))
    # Every request brings moments never seen (its arrival, to the second); their days and
    # their zone's words are few, and those are most of Babel's work. The hour and minute
    # are what Babel writes for 'HH:mm' in every locale: two ASCII digits each.
    return f"{_full_day(local.date(), locale)}, {local.strftime('%H:%M')}{_zone_words(local, locale)}"


def _zone_words(local: datetime, locale: str) -> str:
    """' CET (UTC+01:00)', or ' (Londres, UTC+00:00)' where the language has no short name
    for the zone: the same for every moment of a day at one offset (keyed by the day too,
    since a zone's names may change over the years)."""
    key = (local.tzinfo, local.date(), local.utcoffset(), locale)
    words = _ZONE_WORDS.get(key)
    if words is None:
        if len(_ZONE_WORDS) >= 4096:
            _ZONE_WORDS.clear()
        words = _ZONE_WORDS[key] = _zone_words_at(local, locale)
    return words


_ZONE_WORDS: dict[tuple, str] = {}


def _zone_words_at(local: datetime, locale: str) -> str:
    babel = _babel(locale)
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}"
    key = getattr(local.tzinfo, "key", "")
    if key in ("UTC", "Etc/UTC"):
        return f" ({offset})"
    short = format_time(local, "z", locale=babel)
    if short[:1].isalpha() and not short.startswith(("GMT+", "GMT-", "UTC")):
        return f" {short} ({offset})"
    city = get_timezone_location(local.tzinfo, locale=babel, return_city=True) if key else ""
    return f" ({city}, {offset})" if city else f" ({offset})"


@dataclass(frozen=True)
class Style:
    language: str = DEFAULT_LANGUAGE
    zone: str = "UTC"
    currency: str = "GBP"

    @property
    def locale(self) -> str:
        return locale_of(self.language)

    def day(self, value) -> str:
        """'1 March 2027', '1. März 2027'. Takes a date, a moment, or the ISO text ('2027-03-31')
        case values keep, so no ISO date reaches a reader."""
        if not value:
            return ""
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value[:10])
            except ValueError:
                return value  # 'none', a preview's stand-in: words, not a date
        elif isinstance(value, datetime):
            value = value.astimezone(ZoneInfo(self.zone)).date() if value.tzinfo else value.date()
        elif not isinstance(value, date):
            return str(value)
        return _long_day(value, self.locale)

    def moment(self, value, zone: str | None = None) -> str:
        """A moment in `zone` (the style's by default): 'Monday, 23 November 2026, 09:00 GMT (UTC+00:00)'.

        The zone's short name where the language has one ('CET', 'MEZ', 'GMT'), else its
        city as the language writes it ('09:00 (Londres, UTC+00:00)'), and always the offset:
        a name alone leaves a reader abroad guessing, an offset alone says nothing of where."""
        if not value:
            return ""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        elif not isinstance(value, datetime):
            return str(value)
        return _moment_in(value, zone or self.zone, self.locale)

    def names(self, values) -> str:
        """A list as the language writes it in a sentence: 'SEO, PPC and Social', 'SEO und PPC'."""
        return format_list([str(v) for v in values], locale=_babel(self.locale)) if values else ""

    def money(self, value, currency: str | None = None) -> str:
        """An amount with its currency: '£1,200.00', '1.200,00 €'. Text that is no amount stays as it is."""
        if value in (None, ""):
            return ""
        try:
            amount = Decimal(str(value).replace(",", ""))
        except InvalidOperation:
            return str(value)
        return format_currency(amount, currency or self.currency, locale=_babel(self.locale))
