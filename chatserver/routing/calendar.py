"""Team calendars: when each team is open, on its own wall clock.

Pure functions over an immutable `TeamCalendar`, computed with zoneinfo.

How wall-clock hours become real instants:

- A day's hours are the periods of its special opening if it has one (an
  empty one closes the day), else none on a holiday (one-off or yearly),
  else its weekday's periods.
- A period belongs to one local date: it may end at 24:00 (`END_OF_DAY`,
  "24:00" in the dict form) but never crosses midnight. A night shift is
  split: 22:00-24:00 on one day and 00:00-06:00 on the next. Splitting keeps
  one rule for holidays and special openings (each date owns its own hours);
  touching periods are merged, so the team stays open through midnight and
  `next_closing` reports 06:00, not midnight.
- Every boundary happens at the first instant the team's wall clock reaches
  it. A time skipped by a spring-forward jump therefore happens at the jump
  (02:30 on 29 March 2026 in Europe/Berlin is 03:00 CEST), and a period
  lying wholly inside the skipped hour is empty. A time repeated by a
  fall-back jump means its first occurrence (fold=0), and a period stays one
  stretch of real time, so 02:30-06:00 on 25 October 2026 in Berlin lasts
  4.5 hours. Hence 09:00-17:00 is always 8 hours, and 01:00-04:00 is 2 hours
  on a spring-forward night and 4 on a fall-back night.
- An always-open calendar is open at every instant; its weekly hours,
  holidays and special openings are kept (for when 24/7 is switched off)
  but ignored.
- Searches for the next change of state look ahead `DEFAULT_HORIZON` (366
  days, enough to pass any yearly holiday) and report None beyond it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..config import TEAMS

Period = tuple[time, time]

# The end of a day, 24:00. time.max (23:59:59.999999) stands for it because
# datetime.time cannot say 24:00; it is never read as a time of its own.
END_OF_DAY = time.max

DEFAULT_HORIZON = timedelta(days=366)

# Weekday names of the dict form, indexed by date.weekday() (0 = Monday).
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

ALWAYS_OPEN_TEAMS = frozenset({"technical"})

# The default office hours until admins set their own: Monday to Friday,
# 09:00-17:00 in Europe/Berlin, with no holidays, since holidays depend on
# the country and admins add theirs.
OFFICE_HOURS_TIMEZONE = "Europe/Berlin"
OFFICE_HOURS: tuple[Period, ...] = ((time(9), time(17)),)
OFFICE_DAYS = range(0, 5)

# Names zoneinfo accepts that mean something different on each host.
_HOST_ALIASES = frozenset({"localtime", "posixrules"})

_UTC = timezone.utc
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)
_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")
_FIELDS = frozenset({"timezone", "always_open", "weekly", "holidays", "yearly_holidays",
                     "special_openings"})


@dataclass(frozen=True)
class TeamCalendar:
    """When a team is open: weekly hours, holidays and special openings in one time zone."""

    timezone: str
    weekly: Mapping[int, tuple[Period, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()
    special_openings: Mapping[date, tuple[Period, ...]] = field(default_factory=dict)
    always_open: bool = False

    def __post_init__(self) -> None:
        _zone(self.timezone)
        if not isinstance(self.always_open, bool):
            raise ValueError("always_open: expected true or false")
        # Copies, so a caller changing its own dict cannot change a calendar.
        object.__setattr__(self, "weekly", _checked_weekly(self.weekly))
        object.__setattr__(self, "holidays", _checked_holidays(self.holidays))
        object.__setattr__(self, "yearly_holidays", _checked_yearly(self.yearly_holidays))
        object.__setattr__(self, "special_openings", _checked_specials(self.special_openings))

    def __hash__(self) -> int:
        return hash((self.timezone, tuple(sorted(self.weekly.items())), self.holidays,
                     self.yearly_holidays, tuple(sorted(self.special_openings.items())),
                     self.always_open))

    @property
    def zone(self) -> ZoneInfo:
        """Return the calendar's time zone."""
        return ZoneInfo(self.timezone)


def periods_on(calendar: TeamCalendar, day: date) -> tuple[Period, ...]:
    """Return the opening periods of a local date, in order."""
    if calendar.always_open:
        return ((time(0), END_OF_DAY),)
    if day in calendar.special_openings:
        return calendar.special_openings[day]
    if day in calendar.holidays or (day.month, day.day) in calendar.yearly_holidays:
        return ()
    return calendar.weekly.get(day.weekday(), ())


def is_open(calendar: TeamCalendar, at: datetime) -> bool:
    """Return whether the team is open at an instant."""
    at = _aware("at", at)
    if calendar.always_open:
        return True
    day = _local_date(calendar, at)
    # Neighbouring dates too: a clock set back across midnight shows one
    # date while the next date's hours have begun.
    return any(opens <= at < closes
               for opens, closes in _open_intervals(calendar, day - _ONE_DAY, day + _ONE_DAY))


def next_opening(calendar: TeamCalendar, after: datetime, *,
                 horizon: timedelta = DEFAULT_HORIZON) -> datetime | None:
    """Return the first instant from after on when the team is open, in UTC."""
    after = _aware("after", after)
    if calendar.always_open:
        return after
    limit = after + horizon
    for opens, closes in _open_intervals(calendar, _local_date(calendar, after) - _ONE_DAY,
                                         _local_date(calendar, limit) + _ONE_DAY):
        if closes > after:
            return max(opens, after) if opens < limit else None
    return None


def next_closing(calendar: TeamCalendar, after: datetime, *,
                 horizon: timedelta = DEFAULT_HORIZON) -> datetime | None:
    """Return the first instant from after on when the team is closed, in UTC."""
    after = _aware("after", after)
    if calendar.always_open:
        return None
    limit = after + horizon
    for opens, closes in _open_intervals(calendar, _local_date(calendar, after) - _ONE_DAY,
                                         _local_date(calendar, limit) + _ONE_DAY):
        if closes <= after:
            continue
        if opens > after:
            return after
        # The search stops a day past the limit, so an interval still open
        # there is open beyond the horizon.
        return closes if closes <= limit else None
    return after


def open_seconds_between(calendar: TeamCalendar, start: datetime, end: datetime) -> float:
    """Return how many real seconds the team is open from start to end (0 if end <= start)."""
    start, end = _aware("start", start), _aware("end", end)
    if end <= start:
        return 0.0
    if calendar.always_open:
        return (end - start).total_seconds()
    total = timedelta()
    for opens, closes in _open_intervals(calendar, _local_date(calendar, start) - _ONE_DAY,
                                         _local_date(calendar, end) + _ONE_DAY):
        if opens >= end:
            break
        if closes > start:
            total += min(closes, end) - max(opens, start)
    return total.total_seconds()


def default_calendars() -> dict[str, TeamCalendar]:
    """Return each team's calendar before admins change it."""
    office_hours = {day: OFFICE_HOURS for day in OFFICE_DAYS}
    return {team: TeamCalendar(timezone=OFFICE_HOURS_TIMEZONE, weekly=office_hours,
                               always_open=team in ALWAYS_OPEN_TEAMS)
            for team in TEAMS}


def calendar_to_dict(calendar: TeamCalendar) -> dict[str, Any]:
    """Return the JSON form of a calendar, as stored in settings and served to admins."""
    return {
        "timezone": calendar.timezone,
        "always_open": calendar.always_open,
        "weekly": {name: _periods_to_json(calendar.weekly.get(day, ()))
                   for day, name in enumerate(WEEKDAYS)},
        "holidays": [day.isoformat() for day in sorted(calendar.holidays)],
        "yearly_holidays": [f"{month:02d}-{day:02d}"
                            for month, day in sorted(calendar.yearly_holidays)],
        "special_openings": {day.isoformat(): _periods_to_json(periods)
                             for day, periods in sorted(calendar.special_openings.items())},
    }


def calendar_from_dict(data: Any) -> TeamCalendar:
    """Return the calendar of a JSON form, or raise ValueError naming the bad field."""
    if not isinstance(data, Mapping):
        raise ValueError(f"calendar: expected an object, got {_kind(data)}")
    for key in data:
        if key not in _FIELDS:
            raise ValueError(f"calendar: unknown field {key!r}")
    if "timezone" not in data:
        raise ValueError("timezone: required")
    weekly: dict[int, tuple[Period, ...]] = {}
    for name, periods in _json_object("weekly", data.get("weekly", {})).items():
        if name not in WEEKDAYS:
            raise ValueError(f"weekly: unknown weekday {name!r}; use one of {', '.join(WEEKDAYS)}")
        weekly[WEEKDAYS.index(name)] = _periods_from_json(f"weekly.{name}", periods)
    special_openings = {
        _date_from_json(f"special_openings.{key}", key):
            _periods_from_json(f"special_openings.{key}", periods)
        for key, periods in _json_object("special_openings",
                                         data.get("special_openings", {})).items()
    }
    holidays = [_date_from_json(f"holidays[{index}]", value)
                for index, value in enumerate(_json_list("holidays", data.get("holidays", [])))]
    yearly = [_month_day_from_json(f"yearly_holidays[{index}]", value)
              for index, value in enumerate(_json_list("yearly_holidays",
                                                       data.get("yearly_holidays", [])))]
    return TeamCalendar(timezone=data["timezone"], weekly=weekly, holidays=frozenset(holidays),
                        yearly_holidays=frozenset(yearly), special_openings=special_openings,
                        always_open=data.get("always_open", False))


# Instants.

def _open_intervals(calendar: TeamCalendar, first_day: date,
                    last_day: date) -> Iterator[tuple[datetime, datetime]]:
    """Yield the UTC stretches the team is open over local dates, in order, touching ones merged."""
    zone = calendar.zone
    pending: tuple[datetime, datetime] | None = None
    day = first_day
    while day <= last_day:
        for start, end in periods_on(calendar, day):
            opens, closes = _boundary(zone, day, start), _boundary(zone, day, end)
            if opens >= closes:
                continue  # wholly inside a skipped hour
            if pending is not None and opens <= pending[1]:
                pending = (pending[0], max(pending[1], closes))
                continue
            if pending is not None:
                yield pending
            pending = (opens, closes)
        day += _ONE_DAY
    if pending is not None:
        yield pending


def _boundary(zone: ZoneInfo, day: date, moment: time) -> datetime:
    """Return the first instant, in UTC, at which the wall clock reaches moment on day."""
    if moment == END_OF_DAY:
        wall = datetime.combine(day + _ONE_DAY, time(0))
    else:
        wall = datetime.combine(day, moment)
    candidates = [wall.replace(tzinfo=zone, fold=fold).astimezone(_UTC) for fold in (0, 1)]
    real = [instant for instant in candidates if _wall_clock(zone, instant) == wall]
    if real:
        return min(real)  # a repeated time happens first at its earlier occurrence
    # A skipped time: the clock reads before it at the earlier candidate and
    # past it at the later one. Transitions fall on whole seconds.
    before, after = min(candidates), max(candidates)
    while after - before > _ONE_SECOND:
        middle = (before + (after - before) / 2).replace(microsecond=0)
        if _wall_clock(zone, middle) >= wall:
            after = middle
        else:
            before = middle
    return after


def _wall_clock(zone: ZoneInfo, instant: datetime) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _local_date(calendar: TeamCalendar, instant: datetime) -> date:
    return instant.astimezone(calendar.zone).date()


def _aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name}: expected a datetime, got {_kind(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: must be timezone-aware")
    return value.astimezone(_UTC)


# Validation of a calendar's fields.

def _zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ValueError(f"timezone: expected an IANA time zone name, got {name!r}")
    if name in _HOST_ALIASES:
        raise ValueError(f"timezone: {name!r} depends on the host; use an IANA name such as "
                         "'Europe/Berlin'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"timezone: unknown time zone {name!r}") from None


def _checked_weekly(weekly: object) -> Mapping[int, tuple[Period, ...]]:
    if not isinstance(weekly, Mapping):
        raise ValueError(f"weekly: expected a mapping of weekday to periods, got {_kind(weekly)}")
    checked: dict[int, tuple[Period, ...]] = {}
    for day, periods in weekly.items():
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise ValueError(f"weekly: bad weekday {day!r}; use 0 (Monday) to 6 (Sunday)")
        day_periods = _checked_periods(f"weekly.{WEEKDAYS[day]}", periods)
        if day_periods:  # a day without periods is the same as a missing day
            checked[day] = day_periods
    return MappingProxyType(dict(sorted(checked.items())))


def _checked_specials(specials: object) -> Mapping[date, tuple[Period, ...]]:
    if not isinstance(specials, Mapping):
        raise ValueError(f"special_openings: expected a mapping of date to periods, "
                         f"got {_kind(specials)}")
    checked: dict[date, tuple[Period, ...]] = {}
    for day, periods in specials.items():
        _check_date("special_openings", day)
        # An empty tuple is kept: it closes a day that would otherwise be open.
        checked[day] = _checked_periods(f"special_openings.{day.isoformat()}", periods)
    return MappingProxyType(dict(sorted(checked.items())))


def _checked_holidays(holidays: object) -> frozenset[date]:
    try:
        checked = frozenset(_iterable("holidays", holidays))
    except TypeError:
        raise ValueError(f"holidays: expected dates, got {holidays!r}") from None
    for day in checked:
        _check_date("holidays", day)
    return checked


def _checked_yearly(yearly: object) -> frozenset[tuple[int, int]]:
    checked = set()
    for item in _iterable("yearly_holidays", yearly):
        if (not isinstance(item, tuple) or len(item) != 2
                or not all(isinstance(part, int) and not isinstance(part, bool) for part in item)):
            raise ValueError(f"yearly_holidays: expected (month, day) pairs, got {item!r}")
        try:
            date(2000, *item)  # a leap year, so 29 February is allowed
        except ValueError:
            raise ValueError(f"yearly_holidays: no such day of the year {item!r}") from None
        checked.add((item[0], item[1]))
    return frozenset(checked)


def _checked_periods(label: str, periods: object) -> tuple[Period, ...]:
    checked = []
    for index, period in enumerate(_iterable(label, periods)):
        where = f"{label}[{index}]"
        if not isinstance(period, tuple | list) or len(period) != 2:
            raise ValueError(f"{where}: expected a (start, end) pair, got {period!r}")
        start, end = period
        for part, value in (("start", start), ("end", end)):
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"{where}.{part}: expected a wall-clock time without a time "
                                 f"zone, got {value!r}")
            if value.microsecond and value != END_OF_DAY:
                raise ValueError(f"{where}.{part}: times are whole seconds, got {value}")
        if start == END_OF_DAY:
            raise ValueError(f"{where}: a period cannot start at 24:00")
        if end == start:
            raise ValueError(f"{where}: {_format_period(period)} is empty; a period must end "
                             "after it starts")
        if end < start:
            raise ValueError(f"{where}: {_format_period(period)} crosses midnight; split it into "
                             f"{_format_time(start)}-24:00 on this day and "
                             f"00:00-{_format_time(end)} on the next")
        checked.append((start, end))
    checked.sort()
    for earlier, later in zip(checked, checked[1:]):
        if later[0] < earlier[1]:
            raise ValueError(f"{label}: periods {_format_period(earlier)} and "
                             f"{_format_period(later)} overlap")
    return tuple(checked)


def _check_date(label: str, day: object) -> None:
    # datetime is a date too, but a holiday is a whole local day.
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValueError(f"{label}: expected a date, got {day!r}")


def _iterable(label: str, value: object) -> Iterable[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValueError(f"{label}: expected a collection, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    return type(value).__name__


# The JSON form.

def _json_object(label: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{label}: expected an object, got {_kind(value)}")
    return value


def _json_list(label: str, value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{label}: expected a list, got {_kind(value)}")
    return list(value)


def _periods_from_json(label: str, value: Any) -> tuple[Period, ...]:
    periods = []
    for index, pair in enumerate(_json_list(label, value)):
        where = f"{label}[{index}]"
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"{where}: expected [start, end], got {pair!r}")
        periods.append((_time_from_json(f"{where}.start", pair[0]),
                        _time_from_json(f"{where}.end", pair[1])))
    return tuple(periods)


def _time_from_json(label: str, value: Any) -> time:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{label}: expected HH:MM, got {value!r}")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if (hour, minute, second) == (24, 0, 0):
        return END_OF_DAY
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{label}: no such time {value!r}")
    return time(hour, minute, second)


def _date_from_json(label: str, value: Any) -> date:
    match = _DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{label}: expected YYYY-MM-DD, got {value!r}")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError(f"{label}: no such date {value!r}") from None


def _month_day_from_json(label: str, value: Any) -> tuple[int, int]:
    match = _MONTH_DAY.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{label}: expected MM-DD, got {value!r}")
    month, day = int(match[1]), int(match[2])
    try:
        date(2000, month, day)
    except ValueError:
        raise ValueError(f"{label}: no such day of the year {value!r}") from None
    return month, day


def _periods_to_json(periods: Iterable[Period]) -> list[list[str]]:
    return [[_format_time(start), _format_time(end)] for start, end in periods]


def _format_period(period: Iterable[time]) -> str:
    return "-".join(_format_time(moment) for moment in period)


def _format_time(moment: time) -> str:
    if moment == END_OF_DAY:
        return "24:00"
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")
