"""Visitors rate their conversations; agents and admins read the ratings."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..events import ConversationRated, EventBus
from ..models import Agent, Conversation, Rating
from .errors import ServiceError
from .validation import positive_id, storable
from .views import iso

MAX_COMMENT_LENGTH = 1000


def rating_view(rating: Rating) -> dict[str, Any]:
    return {"conversation_id": rating.conversation_id, "rating": rating.rating, "comment": rating.comment,
            "agent_id": rating.agent_id, "created_at": iso(rating.created_at), "updated_at": iso(rating.updated_at)}


class FeedbackService:
    """Store one rating per conversation; a visitor who changes their mind replaces it."""

    def __init__(self, *, db: sessionmaker[Session], events: EventBus, clock: Callable[[], datetime],
                 window_days: int):
        self._db = db
        self._events = events
        self._clock = clock
        self._window = timedelta(days=window_days)

    def rate(self, *, client_id: int, conversation_id: Any = None, rating: Any, comment: Any = "") -> dict[str, Any]:
        """Rate one of the client's closed conversations (the latest when no id is given), 1 to 5."""
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise ServiceError("invalid", "rating must be a whole number from 1 to 5.")
        if comment is None:
            comment = ""
        if not isinstance(comment, str) or len(comment) > MAX_COMMENT_LENGTH:
            raise ServiceError("invalid", f"comment must be text of at most {MAX_COMMENT_LENGTH} characters.")
        comment = storable(comment.strip(), field="comment")
        now = self._clock()
        with self._db.begin() as session:
            query = select(Conversation).where(Conversation.client_id == client_id)
            if conversation_id is None:
                query = query.order_by(Conversation.id.desc()).limit(1)
            else:
                query = query.where(Conversation.id == positive_id(conversation_id, field="conversation_id"))
            conversation = session.scalar(query)
            # Someone else's conversation is "not found" too: ids reveal nothing.
            if conversation is None:
                raise ServiceError("not_found", "No such conversation to rate.", status=404)
            if conversation.state != "closed":
                raise ServiceError("not_closed", "A conversation can be rated once it is closed.", status=409)
            if conversation.closed_at is not None and now - conversation.closed_at > self._window:
                raise ServiceError("too_late", "This conversation was closed too long ago to be rated.", status=409)
            stored = session.scalar(select(Rating).where(Rating.conversation_id == conversation.id).with_for_update())
            if stored is None:
                stored = Rating(conversation_id=conversation.id, client_id=client_id, created_at=now)
                session.add(stored)
            stored.agent_id = conversation.agent_id
            stored.rating = rating
            stored.comment = comment
            stored.updated_at = now
            session.flush()
            view = rating_view(stored)
        self._events.publish(ConversationRated(view, client_id=client_id, agent_id=view["agent_id"]))
        return view

    def for_conversation(self, *, agent_id: int, conversation_id: int) -> dict[str, Any] | None:
        """Return a conversation's rating to the agent who handled it, or to an admin."""
        with self._db() as session:
            conversation = session.get(Conversation, conversation_id)
            agent = session.get(Agent, agent_id)
            if conversation is None:
                raise ServiceError("not_found", "No such conversation.", status=404)
            if conversation.agent_id != agent_id and (agent is None or agent.role != "admin"):
                raise ServiceError("forbidden", "Only the agent who handled it or an admin may read this rating.",
                                   status=403)
            rating = session.scalar(select(Rating).where(Rating.conversation_id == conversation_id))
            return rating_view(rating) if rating else None
