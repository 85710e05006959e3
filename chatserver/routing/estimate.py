"""An honest wait estimate for a queued visitor: minutes when someone can serve, an opening time when not."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

# Used until the team has handled enough conversations to know better.
DEFAULT_HANDLING_MINUTES = 10.0


@dataclass(frozen=True)
class WaitEstimate:
    """minutes when agents who can serve are online; otherwise when the next one is expected."""

    minutes: int | None
    next_agent_expected_at: datetime | None
    basis: str  # capacity | next_opening | unknown

    def as_dict(self) -> dict[str, object]:
        expected = self.next_agent_expected_at
        return {"estimated_wait_minutes": self.minutes,
                "next_agent_expected_at": expected.isoformat().replace("+00:00", "Z") if expected else None,
                "estimate_basis": self.basis}


def estimate_wait(*, position: int, agents_online: int, free_slots: int, total_slots: int,
                  handling_minutes: float | None, now: datetime, team_open: bool,
                  next_opening: datetime | None) -> WaitEstimate:
    """Return the wait of the position-th conversation in its segment (1 = next)."""
    handling = handling_minutes if handling_minutes and handling_minutes > 0 else DEFAULT_HANDLING_MINUTES
    if agents_online <= 0 or total_slots <= 0:
        # Nobody who can take it is online: never invent minutes.
        if not team_open and next_opening is not None:
            return WaitEstimate(None, next_opening, "next_opening")
        return WaitEstimate(None, None, "unknown")
    if position <= free_slots:
        minutes = 0.0
    else:
        # Each slot frees up about once per handling time; the conversations
        # ahead that found no free slot wait for those turns.
        minutes = math.ceil((position - free_slots) / total_slots) * handling
    return WaitEstimate(int(math.ceil(minutes)), None, "capacity")
