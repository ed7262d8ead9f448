"""A moment in a mail, as Babel writes it: the desk remembers a day's name and a zone's words
for the day rather than asking Babel for each new moment, and must write exactly what Babel
would, across zones with summer time, half-hour offsets and names a language lacks."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_date, format_time, get_timezone_location

from daemon.mail.style import Style, locale_of
from parsers.language import LANGUAGES

ZONES = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
         "America/Sao_Paulo", "Pacific/Chatham", "Europe/Lisbon", "Africa/Casablanca", "Etc/GMT+5", "Europe/Dublin",
         "Asia/Kathmandu"]


def babel_moment(value: datetime, zone: str, language: str) -> str:
    """The moment as Babel writes it, asked afresh: the day's full name, 'HH:mm', the zone."""
    local, babel = value.astimezone(ZoneInfo(zone)), Locale.parse(locale_of(language))
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}"
    when = f"{format_date(local.date(), format='full', locale=babel)}, {format_time(local, 'HH:mm', locale=babel)}"
    if zone in ("UTC", "Etc/UTC"):
        return f"{when} ({offset})"
    short = format_time(local, "z", locale=babel)
    if short[:1].isalpha() and not short.startswith(("GMT+", "GMT-", "UTC")):
        return f"{when} {short} ({offset})"
    city = get_timezone_location(local.tzinfo, locale=babel, return_city=True)
    return f"{when} ({city}, {offset})" if city else f"{when} ({offset})"


def moments() -> list[datetime]:
    # Across the spring change and a fortnight after it, minutes that are not round, the
    # autumn change to the minute, and moments years away (a zone's names change over time).
    start = datetime(2026, 3, 27, 23, 7, 13, tzinfo=timezone.utc)
    found = [start + timedelta(hours=h, minutes=h * 7 % 60) for h in range(0, 24 * 14, 7)]
    return found + [datetime(2026, 10, 25, 0, 59, tzinfo=timezone.utc), datetime(2026, 10, 25, 1, 1, tzinfo=timezone.utc),
                    datetime(1995, 6, 1, 12, tzinfo=timezone.utc), datetime(2040, 1, 1, 8, tzinfo=timezone.utc)]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("zone", ZONES)
def test_a_moment_reads_as_babel_writes_it(zone, language):
    style = Style(language, zone)
    for moment in moments():
        assert style.moment(moment) == babel_moment(moment, zone, language), moment
