"""Unit tests for team calendars: split shifts, holidays, special openings and daylight saving.

Every instant is passed in, so nothing here reads the clock.
Daylight-saving changes used below (2026):
- Europe/Berlin: forward Sun 29 March 02:00 -> 03:00; back Sun 25 October 03:00 -> 02:00.
- America/New_York: forward Sun 8 March 02:00 -> 03:00; back Sun 1 November 02:00 -> 01:00.
- Australia/Sydney: back Sun 5 April 03:00 -> 02:00; forward Sun 4 October 02:00 -> 03:00.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chatserver.config import TEAMS
from chatserver.routing.calendar import (
    DEFAULT_HORIZON,
    END_OF_DAY,
    TeamCalendar,
    calendar_from_dict,
    calendar_to_dict,
    default_calendars,
    is_open,
    next_closing,
    next_opening,
    open_seconds_between,
    periods_on,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
HOUR = 3600.0
OFFICE_HOURS = ((time(9), time(17)),)
WEEKDAYS_ONLY = {day: OFFICE_HOURS for day in range(5)}


def local(zone: ZoneInfo, *fields: int, fold: int = 0) -> datetime:
    return datetime(*fields, tzinfo=zone, fold=fold)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def every_day(*periods: tuple[time, time]) -> dict[int, tuple[tuple[time, time], ...]]:
    return {day: periods for day in range(7)}


def office(zone: str = "Europe/Berlin", **fields) -> TeamCalendar:
    return TeamCalendar(timezone=zone, weekly=WEEKDAYS_ONLY, **fields)


def seconds_on(calendar: TeamCalendar, zone: ZoneInfo, day: date) -> float:
    """Return the team's open seconds from one local midnight to the next."""
    return open_seconds_between(calendar, datetime.combine(day, time(0), zone),
                                datetime.combine(day + timedelta(days=1), time(0), zone))


# Defaults.

def test_default_calendars_cover_every_team() -> None:
    calendars = default_calendars()
    assert set(calendars) == set(TEAMS) >= {"support", "technical", "design", "copywriting",
                                             "projects"}


@pytest.mark.parametrize("team", ["support", "design", "copywriting", "projects"])
def test_office_teams_default_to_weekdays_nine_to_five_in_berlin(team: str) -> None:
    calendar = default_calendars()[team]
    assert calendar == office()
    assert not calendar.always_open
    assert is_open(calendar, local(BERLIN, 2026, 6, 1, 9))  # a Monday
    assert not is_open(calendar, local(BERLIN, 2026, 6, 1, 17))
    assert not is_open(calendar, local(BERLIN, 2026, 6, 6, 12))  # a Saturday


def test_technical_defaults_to_around_the_clock() -> None:
    technical = default_calendars()["technical"]
    assert technical.always_open
    assert is_open(technical, local(BERLIN, 2026, 12, 25, 3))
    # Its office hours are kept for when an admin switches 24/7 off.
    assert technical.weekly == office().weekly


# Split shifts.

SPLIT = TeamCalendar(timezone="Europe/Berlin",
                     weekly={0: ((time(9), time(12)), (time(13), time(17)))})


@pytest.mark.parametrize("hour, minute, expected", [
    (8, 59, False), (9, 0, True), (11, 59, True), (12, 0, False), (12, 30, False),
    (13, 0, True), (16, 59, True), (17, 0, False),
])
def test_split_shift_periods_are_half_open(hour: int, minute: int, expected: bool) -> None:
    assert is_open(SPLIT, local(BERLIN, 2026, 6, 1, hour, minute)) is expected


def test_split_shift_lunch_break() -> None:
    assert next_opening(SPLIT, local(BERLIN, 2026, 6, 1, 12, 30)) == utc(2026, 6, 1, 11)
    assert next_closing(SPLIT, local(BERLIN, 2026, 6, 1, 10)) == utc(2026, 6, 1, 10)
    assert seconds_on(SPLIT, BERLIN, date(2026, 6, 1)) == 7 * HOUR


def test_periods_are_sorted_and_touching_periods_merge() -> None:
    calendar = TeamCalendar(timezone="Europe/Berlin",
                            weekly={0: [(time(12), time(17)), (time(9), time(12))]})
    assert calendar.weekly[0] == ((time(9), time(12)), (time(12), time(17)))
    assert next_closing(calendar, local(BERLIN, 2026, 6, 1, 10)) == utc(2026, 6, 1, 15)


def test_a_night_shift_is_split_at_midnight_and_runs_through_it() -> None:
    night = TeamCalendar(timezone="Europe/Berlin", weekly={
        4: ((time(22), END_OF_DAY),),  # Friday 22:00-24:00
        5: ((time(0), time(6)),),      # Saturday 00:00-06:00
    })
    assert next_opening(night, local(BERLIN, 2026, 6, 5, 21)) == utc(2026, 6, 5, 20)
    assert is_open(night, local(BERLIN, 2026, 6, 6, 0))
    assert next_closing(night, local(BERLIN, 2026, 6, 5, 23)) == utc(2026, 6, 6, 4)
    # A holiday owns its date's hours: the shift then ends at midnight.
    closed_saturday = TeamCalendar(timezone="Europe/Berlin", weekly=night.weekly,
                                   holidays=frozenset({date(2026, 6, 6)}))
    assert next_closing(closed_saturday, local(BERLIN, 2026, 6, 5, 23)) == utc(2026, 6, 5, 22)


def test_a_period_may_end_at_midnight() -> None:
    evening = TeamCalendar(timezone="America/New_York", weekly={0: ((time(20), END_OF_DAY),)})
    assert next_closing(evening, local(NEW_YORK, 2026, 6, 1, 21)) == local(NEW_YORK, 2026, 6, 2)
    assert seconds_on(evening, NEW_YORK, date(2026, 6, 1)) == 4 * HOUR


# Weekends, holidays and special openings.

def test_next_opening_across_a_weekend() -> None:
    calendar = office()
    monday_nine = utc(2026, 6, 8, 7)
    assert next_opening(calendar, local(BERLIN, 2026, 6, 5, 17)) == monday_nine  # Friday
    assert next_opening(calendar, local(BERLIN, 2026, 6, 6, 12)) == monday_nine  # Saturday
    assert next_opening(calendar, utc(2026, 6, 7, 22, 59, 59)) == monday_nine


def test_next_opening_is_the_instant_itself_when_open_in_utc() -> None:
    during = local(BERLIN, 2026, 6, 3, 10, 15)
    opening = next_opening(office(), during)
    assert opening == during and opening.tzinfo is UTC


def test_next_closing_is_the_instant_itself_when_closed() -> None:
    after_hours = local(BERLIN, 2026, 6, 3, 18)
    assert next_closing(office(), after_hours) == after_hours
    assert next_closing(office(), local(BERLIN, 2026, 6, 3, 9)) == utc(2026, 6, 3, 15)


def test_a_one_off_holiday_closes_its_day_and_next_opening_skips_it() -> None:
    easter_monday = date(2026, 4, 6)
    calendar = office(holidays=frozenset({easter_monday}))
    assert not is_open(calendar, local(BERLIN, 2026, 4, 6, 10))
    assert periods_on(calendar, easter_monday) == ()
    friday_evening = local(BERLIN, 2026, 4, 3, 17)
    assert next_opening(office(), friday_evening) == local(BERLIN, 2026, 4, 6, 9)
    assert next_opening(calendar, friday_evening) == local(BERLIN, 2026, 4, 7, 9)
    # One-off: the same date a year later is an ordinary Tuesday.
    assert is_open(calendar, local(BERLIN, 2027, 4, 6, 10))


def test_yearly_holidays_close_every_year() -> None:
    calendar = office(holidays=frozenset({date(2026, 12, 24)}),
                      yearly_holidays=frozenset({(12, 25), (12, 26), (1, 1)}))
    # Wednesday evening before Christmas: Thursday 24th (one-off), Friday 25th
    # (yearly), the weekend, then Monday the 28th.
    assert next_opening(calendar, local(BERLIN, 2026, 12, 23, 17)) \
        == local(BERLIN, 2026, 12, 28, 9)
    assert not is_open(calendar, local(BERLIN, 2030, 12, 25, 10))  # a Wednesday
    assert is_open(calendar, local(BERLIN, 2030, 12, 24, 10))      # one-off was 2026 only
    assert next_opening(calendar, local(BERLIN, 2031, 12, 31, 17)) == local(BERLIN, 2032, 1, 2, 9)


def test_a_yearly_29_february_closes_only_leap_years() -> None:
    calendar = office(yearly_holidays=frozenset({(2, 29)}))
    assert not is_open(calendar, local(BERLIN, 2028, 2, 29, 10))
    assert is_open(calendar, local(BERLIN, 2027, 3, 1, 10))


def test_a_special_opening_overrides_a_holiday() -> None:
    calendar = office(yearly_holidays=frozenset({(12, 25), (12, 26)}),
                      special_openings={date(2026, 12, 26): ((time(10), time(14)),)})
    assert is_open(calendar, local(BERLIN, 2026, 12, 26, 12))  # a Saturday, and a holiday
    assert not is_open(calendar, local(BERLIN, 2026, 12, 26, 9))
    assert next_opening(calendar, local(BERLIN, 2026, 12, 25, 12)) \
        == local(BERLIN, 2026, 12, 26, 10)
    assert next_closing(calendar, local(BERLIN, 2026, 12, 26, 12)) \
        == local(BERLIN, 2026, 12, 26, 14)
    # Other years keep the holiday.
    assert not is_open(calendar, local(BERLIN, 2029, 12, 26, 12))  # a Wednesday


def test_a_special_opening_replaces_the_weekly_hours() -> None:
    late = date(2026, 6, 3)  # a Wednesday
    calendar = office(special_openings={late: ((time(12), time(20)),), date(2026, 6, 4): ()})
    assert not is_open(calendar, local(BERLIN, 2026, 6, 3, 10))
    assert is_open(calendar, local(BERLIN, 2026, 6, 3, 19))
    # An empty special opening closes an ordinary weekday.
    assert next_opening(calendar, local(BERLIN, 2026, 6, 3, 20)) == local(BERLIN, 2026, 6, 5, 9)


# Around the clock, never, and the horizon.

def test_always_open_ignores_hours_and_holidays() -> None:
    calendar = TeamCalendar(timezone="Europe/Berlin", weekly=WEEKDAYS_ONLY, always_open=True,
                            yearly_holidays=frozenset({(12, 25)}))
    christmas_night = local(BERLIN, 2026, 12, 25, 3)
    assert is_open(calendar, christmas_night)
    assert next_opening(calendar, christmas_night) == christmas_night
    assert next_closing(calendar, christmas_night) is None
    assert periods_on(calendar, date(2026, 12, 25)) == ((time(0), END_OF_DAY),)
    # Real elapsed time over the spring-forward weekend: 47 hours, not 48.
    assert open_seconds_between(calendar, local(BERLIN, 2026, 3, 28), local(BERLIN, 2026, 3, 30)) \
        == 47 * HOUR


def test_a_calendar_with_no_hours_never_opens() -> None:
    closed = TeamCalendar(timezone="UTC")
    instant = utc(2026, 6, 1, 12)
    assert not is_open(closed, instant)
    assert next_opening(closed, instant) is None
    assert next_closing(closed, instant) == instant
    assert open_seconds_between(closed, instant, instant + timedelta(days=30)) == 0.0


def test_next_opening_looks_one_horizon_ahead() -> None:
    assert DEFAULT_HORIZON == timedelta(days=366)
    far = TeamCalendar(timezone="UTC", special_openings={date(2027, 7, 1): ((time(9), time(10)),)})
    now = utc(2026, 6, 1)
    assert next_opening(far, now) is None
    assert next_opening(far, now, horizon=timedelta(days=400)) == utc(2027, 7, 1, 9)


def test_next_closing_is_none_when_open_past_the_horizon() -> None:
    all_day = TeamCalendar(timezone="Australia/Sydney", weekly=every_day((time(0), END_OF_DAY)))
    now = local(SYDNEY, 2026, 6, 1, 12)
    assert is_open(all_day, now)
    assert next_closing(all_day, now) is None
    with_holiday = TeamCalendar(timezone="Australia/Sydney", weekly=all_day.weekly,
                                holidays=frozenset({date(2026, 12, 25)}))
    assert next_closing(with_holiday, now) == local(SYDNEY, 2026, 12, 25)


# Daylight saving.

@pytest.mark.parametrize("zone, day", [
    (BERLIN, date(2026, 3, 29)), (BERLIN, date(2026, 3, 30)),
    (BERLIN, date(2026, 10, 25)), (BERLIN, date(2026, 10, 26)),
    (NEW_YORK, date(2026, 3, 8)), (NEW_YORK, date(2026, 3, 9)),
    (NEW_YORK, date(2026, 11, 1)), (NEW_YORK, date(2026, 11, 2)),
    (SYDNEY, date(2026, 4, 5)), (SYDNEY, date(2026, 10, 4)),
])
def test_nine_to_five_is_eight_hours_on_daylight_saving_days(zone: ZoneInfo, day: date) -> None:
    calendar = TeamCalendar(timezone=zone.key, weekly=every_day(*OFFICE_HOURS))
    assert seconds_on(calendar, zone, day) == 8 * HOUR
    assert next_opening(calendar, datetime.combine(day, time(0), zone)) \
        == datetime.combine(day, time(9), zone)


def test_opening_follows_the_wall_clock_across_the_change() -> None:
    calendar = office()
    assert next_opening(calendar, local(BERLIN, 2026, 3, 27, 0)) == utc(2026, 3, 27, 8)  # CET
    assert next_opening(calendar, local(BERLIN, 2026, 3, 27, 17)) == utc(2026, 3, 30, 7)  # CEST
    new_york = office("America/New_York")
    assert next_opening(new_york, local(NEW_YORK, 2026, 10, 30, 17)) == utc(2026, 11, 2, 14)  # EST


@pytest.mark.parametrize("zone, day, hours", [
    (BERLIN, date(2026, 3, 22), 3),     # an ordinary night
    (BERLIN, date(2026, 3, 29), 2),     # spring forward
    (BERLIN, date(2026, 10, 25), 4),    # fall back
    (NEW_YORK, date(2026, 3, 8), 2),
    (NEW_YORK, date(2026, 11, 1), 4),
    (SYDNEY, date(2026, 10, 4), 2),     # southern spring, in October
    (SYDNEY, date(2026, 4, 5), 4),      # southern autumn, in April
])
def test_one_to_four_at_night_is_real_time(zone: ZoneInfo, day: date, hours: int) -> None:
    calendar = TeamCalendar(timezone=zone.key, weekly=every_day((time(1), time(4))))
    assert seconds_on(calendar, zone, day) == hours * HOUR


def test_a_skipped_time_happens_when_the_clock_jumps_past_it() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026; the clock reaches it
    # by jumping from 02:00 CET to 03:00 CEST at 01:00 UTC.
    calendar = TeamCalendar(timezone="Europe/Berlin", weekly={6: ((time(2, 30), time(5)),)})
    assert next_opening(calendar, local(BERLIN, 2026, 3, 28, 12)) == utc(2026, 3, 29, 1)
    assert not is_open(calendar, utc(2026, 3, 29, 0, 59, 59))
    assert is_open(calendar, utc(2026, 3, 29, 1))
    assert seconds_on(calendar, BERLIN, date(2026, 3, 29)) == 2 * HOUR
    new_york = TeamCalendar(timezone="America/New_York", weekly={6: ((time(2, 30), time(5)),)})
    assert next_opening(new_york, local(NEW_YORK, 2026, 3, 7, 12)) == utc(2026, 3, 8, 7)


def test_a_period_wholly_inside_the_skipped_hour_is_empty() -> None:
    calendar = TeamCalendar(timezone="Europe/Berlin", weekly={6: ((time(2), time(2, 30)),)})
    assert seconds_on(calendar, BERLIN, date(2026, 3, 29)) == 0.0
    assert next_opening(calendar, local(BERLIN, 2026, 3, 28, 12)) == local(BERLIN, 2026, 4, 5, 2)


def test_a_repeated_time_means_its_first_occurrence() -> None:
    # 02:00-03:00 happens twice in Berlin on 25 October 2026: first in CEST
    # (00:00-01:00 UTC), then in CET (01:00-02:00 UTC).
    opens_twice = TeamCalendar(timezone="Europe/Berlin", weekly={6: ((time(2, 30), time(6)),)})
    assert next_opening(opens_twice, local(BERLIN, 2026, 10, 24, 12)) == utc(2026, 10, 25, 0, 30)
    # One stretch: still open when the clock reads 02:15 the second time.
    assert is_open(opens_twice, local(BERLIN, 2026, 10, 25, 2, 15, fold=1))
    assert seconds_on(opens_twice, BERLIN, date(2026, 10, 25)) == 4.5 * HOUR

    closes_twice = TeamCalendar(timezone="Europe/Berlin", weekly={6: ((time(0), time(2, 30)),)})
    assert next_closing(closes_twice, local(BERLIN, 2026, 10, 25, 1)) == utc(2026, 10, 25, 0, 30)
    assert not is_open(closes_twice, local(BERLIN, 2026, 10, 25, 2, 15, fold=1))
    assert seconds_on(closes_twice, BERLIN, date(2026, 10, 25)) == 2.5 * HOUR

    new_york = TeamCalendar(timezone="America/New_York", weekly={6: ((time(1, 30), time(3)),)})
    assert next_opening(new_york, local(NEW_YORK, 2026, 10, 31, 12)) == utc(2026, 11, 1, 5, 30)
    assert seconds_on(new_york, NEW_YORK, date(2026, 11, 1)) == 2.5 * HOUR


def test_a_skipped_midnight() -> None:
    # Chile springs forward at midnight: Saturday 5 September 2026 24:00
    # (-04) is Sunday 01:00 (-03), at 04:00 UTC.
    santiago = ZoneInfo("America/Santiago")
    calendar = TeamCalendar(timezone="America/Santiago",
                            weekly={5: ((time(20), END_OF_DAY),), 6: ((time(0), END_OF_DAY),)})
    assert open_seconds_between(calendar, local(santiago, 2026, 9, 5, 20),
                                local(santiago, 2026, 9, 6, 1)) == 4 * HOUR
    assert seconds_on(calendar, santiago, date(2026, 9, 6)) == 23 * HOUR
    assert is_open(calendar, utc(2026, 9, 6, 4))


def test_open_seconds_across_a_daylight_saving_change() -> None:
    # Friday 12:00 to Tuesday 12:00: 5 + 8 + 3 office hours, whatever the clocks did.
    assert open_seconds_between(office(), local(BERLIN, 2026, 3, 27, 12),
                                local(BERLIN, 2026, 3, 31, 12)) == 16 * HOUR
    assert open_seconds_between(office("America/New_York"), local(NEW_YORK, 2026, 10, 30, 12),
                                local(NEW_YORK, 2026, 11, 3, 12)) == 16 * HOUR
    all_day = TeamCalendar(timezone="Australia/Sydney", weekly=every_day((time(0), END_OF_DAY)))
    assert open_seconds_between(all_day, local(SYDNEY, 2026, 4, 4), local(SYDNEY, 2026, 4, 6)) \
        == 49 * HOUR
    assert open_seconds_between(all_day, local(SYDNEY, 2026, 10, 3), local(SYDNEY, 2026, 10, 5)) \
        == 47 * HOUR


def test_open_seconds_takes_any_time_zone_and_is_zero_backwards() -> None:
    start, end = local(NEW_YORK, 2026, 6, 1, 3), utc(2026, 6, 1, 12)  # 09:00 to 14:00 in Berlin
    assert open_seconds_between(office(), start, end) == 5 * HOUR
    assert open_seconds_between(office(), end, start) == 0.0


# Each zone's two daylight-saving weekends, from Saturday 00:00 UTC.
DAYLIGHT_SAVING_WEEKENDS = {
    "Europe/Berlin": (utc(2026, 3, 28), utc(2026, 10, 24)),
    "America/New_York": (utc(2026, 3, 7), utc(2026, 10, 31)),
    "Australia/Sydney": (utc(2026, 4, 4), utc(2026, 10, 3)),
}


@pytest.mark.parametrize("zone_name", DAYLIGHT_SAVING_WEEKENDS)
def test_every_function_agrees_with_the_wall_clock(zone_name: str) -> None:
    # Every quarter hour of the zone's daylight-saving weekends: no boundary
    # here lies inside a repeated hour, so is_open must match reading the
    # wall clock, and the other functions must agree with is_open.
    calendar = TeamCalendar(timezone=zone_name, weekly=every_day(
        (time(1), time(4)), (time(9), time(12)), (time(13), time(17)), (time(22), END_OF_DAY)))
    zone, second = calendar.zone, timedelta(seconds=1)
    for weekend in DAYLIGHT_SAVING_WEEKENDS[zone_name]:
        for quarter in range(3 * 96):
            instant = weekend + timedelta(minutes=15 * quarter)
            wall = instant.astimezone(zone)
            by_wall_clock = any(start <= wall.time() < end
                                for start, end in periods_on(calendar, wall.date()))
            assert is_open(calendar, instant) is by_wall_clock, wall
            opening, closing = next_opening(calendar, instant), next_closing(calendar, instant)
            assert (opening == instant) is by_wall_clock
            assert (closing == instant) is not by_wall_clock
            if by_wall_clock:
                assert is_open(calendar, closing - second) and not is_open(calendar, closing)
                assert open_seconds_between(calendar, instant, closing) \
                    == (closing - instant).total_seconds()
            else:
                assert is_open(calendar, opening) and not is_open(calendar, opening - second)
                assert open_seconds_between(calendar, instant, opening) == 0.0


# Validation.

@pytest.mark.parametrize("function", [is_open, next_opening, next_closing])
def test_naive_instants_are_refused(function) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        function(office(), datetime(2026, 6, 1, 12))


def test_open_seconds_refuses_naive_instants() -> None:
    with pytest.raises(ValueError, match="end: must be timezone-aware"):
        open_seconds_between(office(), utc(2026, 6, 1), datetime(2026, 6, 2))


VALID = {"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "17:00"]]}}


def with_field(**fields) -> dict:
    return {**VALID, **fields}


@pytest.mark.parametrize("data, message", [
    ([], "calendar: expected an object, got list"),
    ({"weekly": {}}, "timezone: required"),
    (with_field(timezone="Mars/Base"), "timezone: unknown time zone 'Mars/Base'"),
    (with_field(timezone="europe/berlin"), "timezone: unknown time zone"),
    (with_field(timezone="../etc/passwd"), "timezone: unknown time zone"),
    (with_field(timezone="localtime"), "timezone: 'localtime' depends on the host"),
    (with_field(timezone=""), "timezone: expected an IANA time zone name"),
    (with_field(timezone=1), "timezone: expected an IANA time zone name"),
    (with_field(open_24_7=True), "calendar: unknown field 'open_24_7'"),
    (with_field(always_open="yes"), "always_open: expected true or false"),
    (with_field(weekly=[]), "weekly: expected an object"),
    (with_field(weekly={"funday": []}), "weekly: unknown weekday 'funday'"),
    (with_field(weekly={"0": []}), "weekly: unknown weekday '0'"),
    (with_field(weekly={"mon": [["09:00", "25:00"]]}),
     r"weekly.mon\[0\].end: no such time '25:00'"),
    (with_field(weekly={"mon": [["24:30", "24:00"]]}), r"weekly.mon\[0\].start: no such time"),
    (with_field(weekly={"mon": [["09:60", "10:00"]]}), r"weekly.mon\[0\].start: no such time"),
    (with_field(weekly={"mon": [["9am", "5pm"]]}), r"weekly.mon\[0\].start: expected HH:MM"),
    (with_field(weekly={"mon": [[900, 1700]]}), r"weekly.mon\[0\].start: expected HH:MM"),
    (with_field(weekly={"mon": [["09:00"]]}), r"weekly.mon\[0\]: expected \[start, end\]"),
    (with_field(weekly={"mon": "09:00-17:00"}), r"weekly.mon: expected a list"),
    (with_field(weekly={"tue": [["09:00", "09:00"]]}), r"weekly.tue\[0\]: 09:00-09:00 is empty"),
    (with_field(weekly={"fri": [["22:00", "02:00"]]}),
     r"weekly.fri\[0\]: 22:00-02:00 crosses midnight; split it into 22:00-24:00 on this day "
     r"and 00:00-02:00 on the next"),
    (with_field(weekly={"sat": [["24:00", "24:00"]]}), r"weekly.sat\[0\]: a period cannot start"),
    (with_field(weekly={"wed": [["09:00", "12:00"], ["11:00", "13:00"]]}),
     "weekly.wed: periods 09:00-12:00 and 11:00-13:00 overlap"),
    (with_field(holidays="2026-12-24"), "holidays: expected a list"),
    (with_field(holidays=["2026-02-30"]), r"holidays\[0\]: no such date '2026-02-30'"),
    (with_field(holidays=["2026-12-24", "24.12.2026"]), r"holidays\[1\]: expected YYYY-MM-DD"),
    (with_field(yearly_holidays=["02-30"]), r"yearly_holidays\[0\]: no such day of the year"),
    (with_field(yearly_holidays=["12-25-2026"]), r"yearly_holidays\[0\]: expected MM-DD"),
    (with_field(special_openings={"2026-13-01": []}), "special_openings.2026-13-01: no such date"),
    (with_field(special_openings={"2026-12-26": [["10:00", "1400"]]}),
     r"special_openings.2026-12-26\[0\].end: expected HH:MM"),
    (with_field(special_openings={"2026-12-26": [["14:00", "10:00"]]}),
     r"special_openings.2026-12-26\[0\]: 14:00-10:00 crosses midnight"),
])
def test_bad_dicts_name_the_field(data, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calendar_from_dict(data)


@pytest.mark.parametrize("fields, message", [
    ({"timezone": "Nowhere/Special"}, "timezone: unknown time zone"),
    ({"weekly": {7: OFFICE_HOURS}}, "weekly: bad weekday 7"),
    ({"weekly": {"mon": OFFICE_HOURS}}, "weekly: bad weekday 'mon'"),
    ({"weekly": {True: OFFICE_HOURS}}, "weekly: bad weekday True"),
    ({"weekly": {0: ((time(9), time(17, tzinfo=UTC)),)}}, r"weekly.mon\[0\].end: expected a wall"),
    ({"weekly": {0: (("09:00", "17:00"),)}}, r"weekly.mon\[0\].start: expected a wall"),
    ({"weekly": {0: ((time(9, 0, 0, 5), time(17)),)}}, r"weekly.mon\[0\].start: times are whole"),
    ({"weekly": {0: ((time(9), time(17), time(18)),)}},
     r"weekly.mon\[0\]: expected a \(start, end"),
    ({"weekly": {1: ((time(9), time(13)), (time(12), time(17)))}}, "weekly.tue: periods"),
    ({"holidays": frozenset({datetime(2026, 12, 24)})}, "holidays: expected a date"),
    ({"holidays": ["2026-12-24"]}, "holidays: expected a date"),
    ({"yearly_holidays": frozenset({(13, 1)})}, "yearly_holidays: no such day of the year"),
    ({"yearly_holidays": frozenset({"12-25"})}, r"yearly_holidays: expected \(month, day\)"),
    ({"special_openings": {"2026-12-26": ()}}, "special_openings: expected a date"),
    ({"special_openings": {date(2026, 12, 26): ((time(9), time(9)),)}},
     r"special_openings.2026-12-26\[0\]: 09:00-09:00 is empty"),
    ({"always_open": 1}, "always_open: expected true or false"),
])
def test_bad_fields_are_refused_by_the_constructor(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TeamCalendar(**{"timezone": "Europe/Berlin", **fields})


def test_a_calendar_is_immutable_and_keeps_its_own_copies() -> None:
    weekly = {0: OFFICE_HOURS}
    calendar = TeamCalendar(timezone="Europe/Berlin", weekly=weekly)
    weekly[1] = OFFICE_HOURS
    assert 1 not in calendar.weekly
    with pytest.raises(TypeError):
        calendar.weekly[1] = OFFICE_HOURS  # type: ignore[index]
    with pytest.raises(AttributeError):
        calendar.always_open = True  # type: ignore[misc]
    assert hash(calendar) == hash(TeamCalendar(timezone="Europe/Berlin", weekly={0: OFFICE_HOURS}))


# The dict form.

RICH = TeamCalendar(
    timezone="America/New_York",
    weekly={0: ((time(13), time(17, 30)), (time(8), time(12))),
            4: ((time(22), END_OF_DAY),), 5: ((time(0), time(6, 0, 15)),), 6: ()},
    holidays=frozenset({date(2026, 11, 26), date(2026, 7, 3)}),
    yearly_holidays=frozenset({(12, 25), (1, 1), (2, 29)}),
    special_openings={date(2026, 12, 26): ((time(10), time(14)),), date(2026, 7, 6): ()},
)


def test_the_dict_form_is_plain_json() -> None:
    assert calendar_to_dict(RICH) == {
        "timezone": "America/New_York",
        "always_open": False,
        "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:30"]], "tue": [], "wed": [],
                   "thu": [], "fri": [["22:00", "24:00"]], "sat": [["00:00", "06:00:15"]],
                   "sun": []},
        "holidays": ["2026-07-03", "2026-11-26"],
        "yearly_holidays": ["01-01", "02-29", "12-25"],
        "special_openings": {"2026-07-06": [], "2026-12-26": [["10:00", "14:00"]]},
    }


@pytest.mark.parametrize("calendar", [RICH, *default_calendars().values()],
                         ids=["rich", *default_calendars()])
def test_the_dict_form_round_trips_through_json(calendar: TeamCalendar) -> None:
    stored = json.dumps(calendar_to_dict(calendar))
    restored = calendar_from_dict(json.loads(stored))
    assert restored == calendar
    assert hash(restored) == hash(calendar)
    assert calendar_to_dict(restored) == json.loads(stored)


def test_a_minimal_dict_is_closed_except_its_hours() -> None:
    calendar = calendar_from_dict({"timezone": "Australia/Sydney",
                                   "weekly": {"sun": [["00:00", "24:00"]]}})
    assert calendar == TeamCalendar(timezone="Australia/Sydney",
                                    weekly={6: ((time(0), END_OF_DAY),)})
    assert calendar_from_dict({"timezone": "UTC", "always_open": True}).always_open
    assert re.fullmatch(r"\d{2}:\d{2}", calendar_to_dict(calendar)["weekly"]["sun"][0][1])


# Team status for the widget, read through an injectable clock.

from chatserver.services.hours import format_opening, team_status, visitor_zone  # noqa: E402


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.mark.parametrize("zone, night, opens_local", [
    # Berlin springs forward on 29 March: Monday 30 March 09:00 is 07:00 UTC, the Friday before 08:00 UTC.
    (BERLIN, local(BERLIN, 2026, 3, 27, 18), local(BERLIN, 2026, 3, 30, 9)),
    # New York falls back on 1 November: Monday 2 November 09:00 is 14:00 UTC, the Friday before 13:00 UTC.
    (NEW_YORK, local(NEW_YORK, 2026, 10, 30, 18), local(NEW_YORK, 2026, 11, 2, 9)),
])
def test_team_status_follows_an_injected_clock_across_a_clock_change(zone: ZoneInfo, night: datetime,
                                                                     opens_local: datetime) -> None:
    calendar = office(zone.key)
    clock = Clock(night.astimezone(UTC))
    status = team_status(calendar, now=clock())
    assert status["open"] is False
    assert status["next_open_at"] == opens_local.astimezone(UTC).isoformat().replace("+00:00", "Z")
    # Real time between the two: subtracting datetimes that share a tzinfo
    # would count wall-clock time and miss the changed hour.
    clock.advance(opens_local.astimezone(UTC) - night.astimezone(UTC) - timedelta(seconds=1))
    assert team_status(calendar, now=clock())["open"] is False
    clock.advance(timedelta(seconds=1))
    assert team_status(calendar, now=clock()) == {"open": True, "next_open_at": status["next_open_at"],
                                                  "timezone": zone.key, "always_open": False}


def test_split_shift_with_a_holiday_and_a_special_opening_through_a_clock() -> None:
    calendar = TeamCalendar(timezone="Europe/Berlin",
                            weekly={day: ((time(8), time(12)), (time(14), time(18))) for day in range(5)},
                            holidays=frozenset({date(2026, 12, 24)}), yearly_holidays=frozenset({(12, 25)}),
                            special_openings={date(2026, 12, 27): ((time(10), time(12)),)})
    clock = Clock(local(BERLIN, 2026, 12, 23, 12, 30).astimezone(UTC))  # the lunch break
    assert team_status(calendar, now=clock())["next_open_at"] == "2026-12-23T13:00:00Z"
    clock.now = local(BERLIN, 2026, 12, 23, 18).astimezone(UTC)
    # Christmas Eve (one-off) and Christmas Day (yearly) are holidays; Saturday is closed;
    # Sunday 27 opens specially.
    assert team_status(calendar, now=clock())["next_open_at"] == "2026-12-27T09:00:00Z"


def test_opening_times_are_told_on_the_visitor_clock() -> None:
    opens = utc(2026, 3, 30, 7)
    assert format_opening(opens, zone=visitor_zone("Asia/Tokyo")) == "2026-03-30 16:00 (Asia/Tokyo)"
    assert format_opening(opens, zone=visitor_zone("America/New_York")) == "2026-03-30 03:00 (America/New_York)"
    for unknown in (None, "", "Mars/Olympus", "localtime", "x" * 100, 42):
        assert format_opening(opens, zone=visitor_zone(unknown)) == "2026-03-30 07:00 (UTC)"
