"""The business calendar: working days, holidays, opening hours and customer hours, across DST."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from daemon import config as cfg
from daemon.business_calendar import (add_business_days, at_local, build_calendar, customer_day_at,
                                      customer_send_time, next_business_slot)
from daemon.schema import ConfigError

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc


def london_calendar(**overrides):
    values = dict(timezone_name="Europe/London", hours="09:00-17:30", holidays_country="GB",
                  holidays_subdivision="ENG", extra_holidays=("2026-12-24",))
    return build_calendar(**{**values, **overrides})


def local(zone, *args):
    return datetime(*args, tzinfo=zone)


def test_one_business_day_after_friday_afternoon_is_monday_afternoon():
    cal = london_calendar()
    due = add_business_days(local(LONDON, 2026, 11, 13, 16, 0), 1, cal)
    assert due.astimezone(LONDON) == local(LONDON, 2026, 11, 16, 16, 0)


def test_a_saturday_notice_counts_from_monday_opening():
    cal = london_calendar()
    due = add_business_days(local(LONDON, 2026, 11, 14, 11, 0), 1, cal)
    assert due.astimezone(LONDON) == local(LONDON, 2026, 11, 17, 9, 0)


def test_holidays_of_the_country_and_of_the_agency_are_skipped():
    cal = london_calendar()
    # Wed 23 Dec: 24th is the agency's own day, 25th/28th are bank holidays (Boxing Day observed).
    due = add_business_days(local(LONDON, 2026, 12, 23, 10, 0), 2, cal)
    assert due.astimezone(LONDON) == local(LONDON, 2026, 12, 30, 10, 0)


def test_business_days_keep_local_time_across_the_autumn_change():
    cal = london_calendar()
    # Friday 23 Oct 2026 is BST (UTC+1); Monday 26 Oct is GMT (UTC+0).
    due = add_business_days(local(LONDON, 2026, 10, 23, 14, 0), 1, cal)
    assert due.astimezone(LONDON).time() == time(14, 0)
    assert due == datetime(2026, 10, 26, 14, 0, tzinfo=UTC)


def test_next_business_slot_inside_and_outside_hours():
    cal = london_calendar()
    inside = local(LONDON, 2026, 11, 16, 12, 0)
    assert next_business_slot(inside, cal) == inside
    evening = local(LONDON, 2026, 11, 16, 18, 0)
    assert next_business_slot(evening, cal).astimezone(LONDON) == local(LONDON, 2026, 11, 17, 9, 0)
    early = local(LONDON, 2026, 11, 16, 7, 0)
    assert next_business_slot(early, cal).astimezone(LONDON) == local(LONDON, 2026, 11, 16, 9, 0)


def test_customer_mail_waits_for_the_customers_morning():
    cal = london_calendar()
    # 14:00 in London is 09:00 in New York: just sendable there; 13:00 London is not.
    assert customer_send_time(local(LONDON, 2026, 11, 16, 14, 0), "America/New_York", cal) == \
        local(LONDON, 2026, 11, 16, 14, 0)
    later = customer_send_time(local(LONDON, 2026, 11, 16, 13, 0), "America/New_York", cal)
    assert later.astimezone(NEW_YORK) == local(NEW_YORK, 2026, 11, 16, 9, 0)


def test_customer_mail_never_on_a_weekend_in_their_zone():
    cal = london_calendar()
    friday_night = local(NEW_YORK, 2026, 11, 6, 20, 0)
    assert customer_send_time(friday_night, NEW_YORK, cal).astimezone(NEW_YORK) == local(NEW_YORK, 2026, 11, 9, 9, 0)


def test_customer_day_at_is_ten_local_on_both_sides_of_the_us_change():
    cal = london_calendar()
    before = customer_day_at(date(2026, 10, 30), time(10), "America/New_York", cal)
    after = customer_day_at(date(2026, 11, 2), time(10), "America/New_York", cal)
    assert before == datetime(2026, 10, 30, 14, 0, tzinfo=UTC)   # EDT, UTC-4
    assert after == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)     # EST, UTC-5


def test_an_unknown_customer_zone_falls_back_to_the_agency_zone():
    cal = london_calendar()
    moment = customer_day_at(date(2026, 11, 16), time(10), "Mars/Olympus", cal)
    assert moment.astimezone(LONDON) == local(LONDON, 2026, 11, 16, 10, 0)


def test_a_wall_time_skipped_in_spring_lands_after_the_change():
    assert at_local(date(2026, 3, 29), time(1, 30), LONDON).astimezone(LONDON).time() == time(2, 30)


@pytest.mark.parametrize("text, key", [
    ("[business]\nhours = '17:00-09:00'\n", "business.hours"),
    ("[business]\ndays = ['funday']\n", "business.days"),
    ("[business]\nholidays_country = 'XX'\n", "business.holidays_country"),
    ("[business]\nextra_holidays = ['24 Dec']\n", "business.extra_holidays[0]"),
    ("[business]\ntimezone = 'Nowhere/Town'\n", "business.timezone"),
    ("[timers]\ncustomer_send_hour = 'ten'\n", "timers.customer_send_hour"),
    ("[winback]\noffers = ['no reason here']\n", "winback.offers[0]"),
])
def test_bad_calendar_values_name_their_key(text, key):
    with pytest.raises(ConfigError) as caught:
        cfg.from_text(text)
    assert str(caught.value).startswith(key), str(caught.value)


def test_winback_offer_follows_the_reason():
    winback = cfg.WinbackConfig()
    assert "20%" in winback.offer_for("price: too expensive")
    assert winback.offer_for("Results").startswith("a free strategy review")
    assert winback.offer_for(None) == winback.default_offer
    assert winback.offer_for("moved in-house") == winback.default_offer


def test_unknown_subdivision_is_a_configuration_error_naming_the_key():
    from daemon.config import from_text
    from daemon.schema import ConfigError

    with pytest.raises(ConfigError, match=r"^business\.holidays_subdivision: GB has no subdivision 'XYZ'"):
        from_text("[business]\nholidays_country = 'GB'\nholidays_subdivision = 'XYZ'\n")
