"""Team calendars as admins set them: stored in settings, read by routing, the widget and agents."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from ..config import TEAMS
from ..events import EventBus, QueueChanged
from ..models import Setting
from ..routing.calendar import (
    TeamCalendar,
    calendar_from_dict,
    calendar_to_dict,
    default_calendars,
    is_open,
    next_opening,
)
from .audit import actor_of
from .errors import ServiceError
from .views import iso

CALENDARS_KEY = "team_calendars"


TEAM_HOURS_DEFAULTS = ("office", "always")


def load_calendars(session: Session, *, default: str = "office") -> dict[str, TeamCalendar]:
    """Return every team's calendar: the stored one, else the default."""
    calendars = default_calendars()
    if default == "always":
        calendars = {team: replace(calendar, always_open=True) for team, calendar in calendars.items()}
    setting = session.get(Setting, CALENDARS_KEY)
    for team, data in (setting.value if setting else {}).items():
        if team in calendars:
            calendars[team] = calendar_from_dict(data)
    return calendars


def team_status(calendar: TeamCalendar, *, now: datetime) -> dict[str, Any]:
    """Return whether a team is open now and when it next opens (now when open)."""
    opens = next_opening(calendar, now)
    return {"open": is_open(calendar, now), "next_open_at": iso(opens),
            "timezone": calendar.timezone, "always_open": calendar.always_open}


def visitor_zone(name: Any) -> ZoneInfo:
    """Return the visitor's time zone, UTC when absent or unknown."""
    if isinstance(name, str) and 0 < len(name) <= 64 and name not in ("localtime", "posixrules"):
        try:
            return ZoneInfo(name)
        except (ValueError, OSError, KeyError):
            pass
    return ZoneInfo("UTC")


def format_opening(opens_at: datetime, *, zone: ZoneInfo) -> str:
    """Return an opening time on the visitor's clock, the same in every language: 2026-11-30 09:00 (Europe/Berlin)."""
    local = opens_at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} ({zone.key})"


class HoursService:
    """Read and replace team calendars; say who is open."""

    def __init__(self, *, db: sessionmaker[Session], events: EventBus, clock: Callable[[], datetime],
                 default: str = "office", audit: Any = None):
        if default not in TEAM_HOURS_DEFAULTS:
            raise ValueError(f"TEAM_HOURS_DEFAULT must be one of {', '.join(TEAM_HOURS_DEFAULTS)}")
        self._db = db
        self._events = events
        self._clock = clock
        self._default = default
        # The audit log (services/audit.py), when calendar changes are to be recorded.
        self.audit = audit

    def load(self, session: Session) -> dict[str, TeamCalendar]:
        """Return every team's calendar within the caller's session."""
        return load_calendars(session, default=self._default)

    def calendars(self) -> dict[str, TeamCalendar]:
        with self._db() as session:
            return self.load(session)

    def get_calendars(self) -> dict[str, dict[str, Any]]:
        """Return every team's calendar in its JSON form."""
        return {team: calendar_to_dict(calendar) for team, calendar in self.calendars().items()}

    def set_calendar(self, *, team: Any, calendar: Any, actor: Any = None) -> dict[str, Any]:
        """Replace one team's calendar after checking every field."""
        if team not in TEAMS:
            raise ServiceError("not_found", f"No such team; teams are: {', '.join(TEAMS)}.", status=404)
        try:
            parsed = calendar_from_dict(calendar)
        except ValueError as error:
            raise ServiceError("invalid_calendar", str(error)) from None
        stored = calendar_to_dict(parsed)
        with self._db.begin() as session:
            setting = session.get(Setting, CALENDARS_KEY, with_for_update=True)
            if setting is None:
                session.add(Setting(key=CALENDARS_KEY, value={team: stored}))
            else:
                # A new dict: JSON columns only notice a replaced value.
                setting.value = {**setting.value, team: stored}
            if self.audit is not None:
                self.audit.record(session, actor=actor_of(actor), action="calendar.set", target=("team", team),
                                  details={"calendar": stored})
        # Opening times shown to agents and visitors may have moved.
        self._events.publish(QueueChanged())
        return stored

    def status(self, *, now: datetime | None = None) -> dict[str, dict[str, Any]]:
        """Return for each team whether it is open now and when it next opens."""
        now = now or self._clock()
        return {team: team_status(calendar, now=now) for team, calendar in self.calendars().items()}

    def is_open(self, *, team: str, now: datetime | None = None) -> bool:
        return is_open(self.calendars()[team], now or self._clock())

    def next_opening(self, *, team: str, now: datetime | None = None) -> datetime | None:
        return next_opening(self.calendars()[team], now or self._clock())


