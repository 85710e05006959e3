"""The live-chat use cases: post, route, accept, close. They own the transactions and raise domain events."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..config import DEFAULT_TEAM, TEAMS
from ..catalog import Catalog
from ..events import (AgentChanged, ConversationChanged, EventBus, HereAndNowOffered, MessageDelta, MessagePosted,
                      QueueChanged, Typing)
from ..language import Detector, LanguageDecision, decide_language, message_weight, normalize_code, should_reroute
from ..models import Agent, Client, Conversation, Message
from ..routing import (AgentView, QueueItem, can_take, initial_priority, panel_queue_language, queue_score,
                       visible_queue)
from ..routing.calendar import TeamCalendar, is_open, next_opening
from ..routing.estimate import estimate_wait
from ..routing.sla import SlaPolicy
from ..state import QueueEntry, SharedState
from .admin import panel_languages
from .errors import ServiceError
from .hours import HoursService, format_opening, visitor_zone
from .validation import positive_id, storable
from .views import agent_conversation_view, caution_for, conversation_view, iso, message_view, queue_summary

log = logging.getLogger(__name__)

OPEN_STATES = ("queued", "active", "ai")
HERE_AND_NOW_TEAM = "technical"
# Closed conversations whose handling time feeds the wait estimate.
HANDLING_SAMPLE = 50
# Where a conversation goes when nothing tells its language: English is always
# on the panel, and a human can work out the rest.
FALLBACK_LANGUAGE = "en"
MAX_CLIENT_ID_LENGTH = 64

# The visitor message hot path's two statements, built once: building a
# statement costs more than running it on SQLite. The UPDATE finds the
# client's active conversation (only for an active, verified client) and
# takes its next sequence number in one step.
_conversations, _messages = Conversation.__table__, Message.__table__
_BUMP_ACTIVE_SEQ = (
    update(_conversations)
    .where(_conversations.c.client_id == bindparam("b_client_id"), _conversations.c.state == "active",
           _conversations.c.client_id.in_(select(Client.id).where(
               Client.id == bindparam("b_client_id"), Client.status == "active", Client.email_verified.is_(True))))
    .values(last_seq=_conversations.c.last_seq + 1)
    .returning(_conversations.c.id, _conversations.c.last_seq, _conversations.c.agent_id))
_INSERT_VISITOR_MESSAGE = (
    insert(_messages)
    .values(conversation_id=bindparam("b_conversation_id"), seq=bindparam("b_seq"), sender="visitor",
            text=bindparam("b_text"), client_id=bindparam("b_client_id"), language=bindparam("b_language"),
            language_scores=bindparam("b_language_scores", type_=_messages.c.language_scores.type),
            language_weight=bindparam("b_language_weight"),
            created_at=bindparam("b_created_at", type_=_messages.c.created_at.type))
    .returning(_messages.c.id))


@dataclass(frozen=True)
class Posted:
    message: dict[str, Any]
    duplicate: bool
    # The conversation as its visitor sees it, built only when asked for: the
    # queue position behind it reads the whole queue, which the socket path
    # never needs (its ack carries the message alone).
    load_conversation: Callable[[], dict[str, Any]] = field(repr=False, compare=False)

    @property
    def conversation(self) -> dict[str, Any]:
        """Return the conversation as its visitor sees it now."""
        return self.load_conversation()


class ChatService:
    """Run conversations from a visitor's first message to close."""

    def __init__(self, *, db: sessionmaker[Session], state: SharedState, detector: Detector, events: EventBus,
                 catalog: Catalog, clock: Callable[[], datetime], sla: SlaPolicy, hours: HoursService,
                 max_message_length: int, presence_ttl: float, caution_hours: float = 24.0):
        self._db = db
        self._engine = db.kw["bind"]
        self._caution_window = timedelta(hours=caution_hours)
        self._catalog = catalog
        self._state = state
        self._detector = detector
        self._events = events
        self._clock = clock
        self._sla = sla
        self._hours = hours
        self._max_length = max_message_length
        self._presence_ttl = presence_ttl
        # Set by the AI agent at start-up: called with a conversation id whenever
        # a visitor writes in a conversation the AI handles.
        self.on_ai_turn: Callable[[int], None] = lambda conversation_id: None

    def _caution(self, conversation: Conversation) -> dict[str, Any] | None:
        return caution_for(conversation.client, now=self._clock(), window=self._caution_window)

    # --- validation ---------------------------------------------------------
    def _text(self, text: Any) -> str:
        if not isinstance(text, str):
            raise ServiceError("invalid", "text must be a string.")
        if not text.strip():
            raise ServiceError("invalid", "text must not be empty.")
        if len(text) > self._max_length:
            raise ServiceError("too_long", f"text must be at most {self._max_length} characters.")
        return storable(text, field="text")

    @staticmethod
    def _client_id(client_id: Any) -> str:
        if not isinstance(client_id, str) or not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
            raise ServiceError("invalid", f"client_id must be a non-empty string of at most {MAX_CLIENT_ID_LENGTH} characters.")
        return storable(client_id, field="client_id")

    @staticmethod
    def _conversation_id(conversation_id: Any) -> int:
        return positive_id(conversation_id, field="conversation_id")

    # --- visitors -------------------------------------------------------------
    def open_conversation(self, *, client_id: int) -> dict[str, Any] | None:
        """Return the client's open conversation, if any."""
        with self._db() as session:
            conversation = self._open_for_client(session, client_id)
            return self._visitor_view(conversation) if conversation else None

    def history(self, *, client_id: int, after_seq: Any = None, after_id: Any = None) -> dict[str, Any]:
        """Return the client's open (else latest) conversation and its messages after after_seq (or after_id)."""
        after_seq = _cursor(after_seq, field="after_seq")
        after_id = _cursor(after_id, field="after_id")
        with self._db() as session:
            conversation = self._open_for_client(session, client_id) or session.scalar(
                select(Conversation).where(Conversation.client_id == client_id)
                .order_by(Conversation.id.desc()).limit(1))
            if conversation is None:
                return {"conversation": None, "messages": []}
            return {"conversation": self._visitor_view(conversation),
                    "messages": self._messages(session, conversation.id, after_seq=after_seq, after_id=after_id)}

    def post_visitor_message(self, *, client_id: int, message_client_id: Any, text: Any, team: Any = None,
                             panel_language: str | None = None, browser_languages: Sequence[str] = (),
                             visitor_timezone: str | None = None) -> Posted:
        """Store a visitor's message, decide the conversation's language and route it."""
        text = self._text(text)
        message_client_id = self._client_id(message_client_id)
        if team is not None and team not in TEAMS:
            raise ServiceError("invalid", f"team must be one of: {', '.join(TEAMS)}.")
        # Detection is pure CPU: do it before the transaction opens.
        scores = self._detector.scores(text)
        weight = message_weight(text) if scores else 0.0
        # Two first messages racing from two tabs can both try to open the
        # conversation; the loser retries and joins the winner's.
        for attempt in range(3):
            try:
                posted = self._post_to_agent(client_id=client_id, message_client_id=message_client_id,
                                             text=text, scores=scores, weight=weight)
                if posted is not None:
                    return posted
                return self._post_visitor_message(
                    client_id=client_id, message_client_id=message_client_id, text=text, team=team,
                    panel_language=panel_language, browser_languages=browser_languages,
                    scores=scores, weight=weight, visitor_timezone=visitor_timezone)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _post_visitor_message(self, *, client_id: int, message_client_id: str, text: str, team: str | None,
                              panel_language: str | None, browser_languages: Sequence[str],
                              scores: dict[str, float], weight: float, visitor_timezone: str | None) -> Posted:
        now = self._clock()
        routed_before: tuple[str, ...] | None = None
        with self._db.begin() as session:
            client = session.get(Client, client_id)
            if client is None or client.status != "active" or not client.email_verified:
                raise ServiceError("forbidden", "This account cannot receive support right now.")
            conversation = self._open_for_client(session, client_id)
            if conversation is not None:
                existing = session.scalar(select(Message).where(
                    Message.conversation_id == conversation.id, Message.client_id == message_client_id))
                if existing is not None:
                    return Posted(message_view(existing), duplicate=True,
                                  load_conversation=functools.partial(self.conversation_for_visitor, conversation.id))
                routed_before = (conversation.state, conversation.queue_language, conversation.priority,
                                 conversation.language)
            else:
                conversation = Conversation(
                    client=client, team=team or DEFAULT_TEAM, state="new", created_at=now,
                    sla_due_at=self._sla.schedule(priority="standard", arrived_at=now).due_at)
                session.add(conversation)
            if visitor_timezone:
                conversation.visitor_timezone = visitor_timezone
            conversation.panel_language = normalize_code(panel_language) if panel_language else conversation.panel_language
            if browser_languages:
                conversation.browser_languages = list(browser_languages)
            message = self._add_message(session, conversation, sender="visitor", text=text,
                                        client_id=message_client_id,
                                        language=max(scores, key=scores.get) if scores else "und",
                                        language_scores=scores, language_weight=weight, created_at=now)
            session.flush()
            decision = self._decide(session, conversation)
            self._route(session, conversation, decision, client=client, now=now)
            closed_notice = None
            if conversation.state == "queued" and (routed_before is None or routed_before[0] != "queued"):
                closed_notice = self._closed_team_notice(session, conversation, now=now)
            session.flush()
            message_payload = message_view(message)
            closed_payload = message_view(closed_notice) if closed_notice else None
            conversation_id = conversation.id
            routed_after = (conversation.state, conversation.queue_language, conversation.priority,
                            conversation.language)
            queue_entry = self._queue_entry(session, conversation) if conversation.state == "queued" else None
            view = conversation_view(conversation, queue_position=None)
        if queue_entry is not None or routed_before is None or routed_before[0] == "queued":
            self._sync_queue(conversation_id, queue_entry)
        assigned = view["agent"]["id"] if view["agent"] else None
        self._events.publish(MessagePosted(message_payload, client_id=client_id, agent_id=assigned))
        if closed_payload:
            self._events.publish(MessagePosted(closed_payload, client_id=client_id, agent_id=None))
        if queue_entry is not None:
            details = functools.cache(lambda: {**view, **self._queue_details(conversation_id)})
        else:
            details = functools.cache(lambda: view)
        if routed_before != routed_after:
            # Only a change of route or language changes what queues show: the
            # preview is the first message, which never changes.
            self._events.publish(ConversationChanged(details(), client_id=client_id), QueueChanged())
        if routed_after[0] == "ai":
            self.on_ai_turn(conversation_id)
        return Posted(message_payload, duplicate=False, load_conversation=details)

    def _post_to_agent(self, *, client_id: int, message_client_id: str, text: str, scores: dict[str, float],
                       weight: float) -> Posted | None:
        """Store a message in a conversation a human already handles, or return None when it is not one.

        Most messages of a chat are written here, so this path is lean: the
        language no longer routes (no decision, no queue; the panel and browser
        languages and the time zone it would refresh feed only those), and two
        prepared Core statements in one transaction store it: the conditional
        UPDATE both finds the active conversation and takes the next sequence
        number, the INSERT stores the message. A resent client_id meets the
        unique constraint, the whole transaction rolls back, and the stored
        message is returned.
        """
        now = self._clock()
        try:
            # A bare connection, not a Session: nothing here needs the ORM.
            with self._engine.begin() as connection:
                row = connection.execute(_BUMP_ACTIVE_SEQ, {"b_client_id": client_id}).first()
                if row is None:
                    return None  # new, queued, with the AI, closed or refused: the full path decides
                conversation_id, seq, agent_id = row
                message_id = connection.execute(_INSERT_VISITOR_MESSAGE, {
                    "b_conversation_id": conversation_id, "b_seq": seq, "b_text": text,
                    "b_client_id": message_client_id, "b_language": max(scores, key=scores.get) if scores else "und",
                    "b_language_scores": scores, "b_language_weight": weight, "b_created_at": now}).scalar_one()
        except IntegrityError:
            with self._db() as session:
                stored = session.scalar(select(Message).join(Conversation).where(
                    Conversation.client_id == client_id, Conversation.state == "active",
                    Message.client_id == message_client_id))
                if stored is None:
                    raise
                return Posted(message_view(stored), duplicate=True,
                              load_conversation=functools.partial(self.conversation_for_visitor,
                                                                  stored.conversation_id))
        payload = {"id": message_id, "conversation_id": conversation_id, "seq": seq, "sender": "visitor",
                   "text": text, "created_at": iso(now), "client_id": message_client_id}
        self._events.publish(MessagePosted(payload, client_id=client_id, agent_id=agent_id))
        return Posted(payload, duplicate=False,
                      load_conversation=functools.partial(self.conversation_for_visitor, conversation_id))

    def request_human(self, *, client_id: int) -> dict[str, Any]:
        """Move an AI-handled conversation to the bottom of the English-speaking human queue."""
        with self._db() as session:
            conversation = self._open_for_client(session, client_id)
            if conversation is None:
                raise ServiceError("no_conversation", "There is no open conversation; send a message first.")
            conversation_id = conversation.id
        self.hand_to_humans(conversation_id=conversation_id, reason="visitor_request")
        return self.conversation_for_visitor(conversation_id)

    def hand_to_humans(self, *, conversation_id: int, reason: str, note: bool = True) -> bool:
        """Move an AI-handled conversation to humans, telling the visitor what happens next."""
        now = self._clock()
        with self._db.begin() as session:
            # The conditional update makes the handoff happen once, however
            # many paths (visitor, model, time-out) ask for it at once.
            # An AI helping while the team is closed hands back to the queue
            # the conversation came from, not to the English AI queue.
            back = session.execute(
                update(Conversation).where(Conversation.id == conversation_id, Conversation.state == "ai",
                                           Conversation.ai_until_opening.is_(True))
                .values(state="queued", ai_until_opening=False, queued_at=now,
                        handoff_reason=reason)).rowcount == 1
            moved = back or session.execute(
                update(Conversation).where(Conversation.id == conversation_id, Conversation.state == "ai")
                .values(state="queued", priority="ai", queue_language=FALLBACK_LANGUAGE, queued_at=now,
                        handoff_reason=reason)).rowcount == 1
            if not moved:
                return False
            conversation = session.get(Conversation, conversation_id)
            if not back:
                self._apply_sla(conversation)
            notice = None
            if note:
                notice = self._add_message(session, conversation, sender="system", event="handed_to_humans",
                                           created_at=now,
                                           text=self._catalog.text("ai_handoff", language=conversation.language))
            session.flush()
            client_id = conversation.client_id
            entry = self._queue_entry(session, conversation)
            notice_payload = message_view(notice) if notice else None
        log.info("conversation %s handed to humans: %s", conversation_id, reason)
        self._sync_queue(conversation_id, entry)
        if notice_payload:
            self._events.publish(MessagePosted(notice_payload, client_id=client_id, agent_id=None))
        self._events.publish(ConversationChanged(self.conversation_for_visitor(conversation_id), client_id=client_id),
                             QueueChanged())
        return True

    # --- the AI agent ---------------------------------------------------------
    def ai_context(self, *, conversation_id: int) -> dict[str, Any] | None:
        """Return what the AI agent may see of a conversation it handles, or None.

        Only this conversation's messages, and nothing about the account
        beyond the language and whether a subscription is active.
        """
        with self._db() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.state != "ai":
                return None
            messages = self._messages(session, conversation.id)
            last_answered = max((m["id"] for m in messages if m["sender"] == "ai"), default=0)
            return {"conversation_id": conversation.id, "client_id": conversation.client_id,
                    "language": conversation.language, "acknowledged": conversation.ai_acknowledged,
                    "subscribed": conversation.client.has_active_subscription(now=self._clock()),
                    "tokens_used": conversation.ai_tokens_used,
                    "pending": any(m["sender"] == "visitor" and m["id"] > last_answered for m in messages),
                    "messages": [{"sender": m["sender"], "text": m["text"]} for m in messages]}

    def ai_conversations_waiting(self) -> list[int]:
        """Return AI conversations whose latest message is the visitor's (a lost or pending turn)."""
        with self._db() as session:
            latest = (select(Message.conversation_id, func.max(Message.id).label("last_id"))
                      .group_by(Message.conversation_id).subquery())
            return list(session.scalars(
                select(Conversation.id).join(latest, latest.c.conversation_id == Conversation.id)
                .join(Message, Message.id == latest.c.last_id)
                .where(Conversation.state == "ai", Message.sender == "visitor")))

    def post_ai_message(self, *, conversation_id: int, text: str, acknowledgement: bool = False,
                        stream_id: str | None = None, tokens: int = 0) -> dict[str, Any] | None:
        """Store and deliver the AI agent's reply, if the AI still handles the conversation."""
        with self._db.begin() as session:
            if acknowledgement:
                # Claim the one acknowledgement atomically: two turns racing
                # (two quick messages) must not both send it.
                claimed = session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id, Conversation.state == "ai",
                           Conversation.ai_acknowledged.is_(False))
                    .values(ai_acknowledged=True)).rowcount == 1
                if not claimed:
                    return None
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.state != "ai":
                return None
            conversation.ai_tokens_used += tokens
            message = self._add_message(session, conversation, sender="ai", text=text, created_at=self._clock(),
                                        language=conversation.language)
            session.flush()
            payload = message_view(message)
            client_id = conversation.client_id
        if stream_id:
            payload["stream_id"] = stream_id
        self._events.publish(MessagePosted(payload, client_id=client_id, agent_id=None))
        return payload

    def add_ai_tokens(self, *, conversation_id: int, tokens: int) -> None:
        """Count tokens a turn spent without producing a reply."""
        with self._db.begin() as session:
            session.execute(update(Conversation).where(Conversation.id == conversation_id)
                            .values(ai_tokens_used=Conversation.ai_tokens_used + tokens))

    def ai_delta(self, *, conversation_id: int, client_id: int, stream_id: str, delta: str) -> None:
        """Deliver a piece of a streaming AI reply; post_ai_message stores it once, whole."""
        self._events.publish(MessageDelta({"id": stream_id, "conversation_id": conversation_id, "delta": delta},
                                          client_id=client_id))

    def typing(self, *, conversation_id: int, client_id: int, sender: str, typing: bool,
               agent_id: int | None = None) -> None:
        """Tell the other side that someone is (or stopped) typing; nothing is stored."""
        self._events.publish(Typing(conversation_id=conversation_id, sender=sender, typing=typing,
                                    client_id=client_id, agent_id=agent_id))

    def visitor_typing(self, *, client_id: int, typing: Any) -> None:
        if not isinstance(typing, bool):
            raise ServiceError("invalid", "typing must be true or false.")
        with self._db() as session:
            conversation = self._open_for_client(session, client_id)
            if conversation is None or conversation.agent_id is None or conversation.state != "active":
                return
            conversation_id, agent_id = conversation.id, conversation.agent_id
        self.typing(conversation_id=conversation_id, client_id=client_id, sender="visitor", typing=typing,
                    agent_id=agent_id)

    def agent_typing(self, *, agent_id: int, conversation_id: Any, typing: Any) -> None:
        conversation_id = self._conversation_id(conversation_id)
        if not isinstance(typing, bool):
            raise ServiceError("invalid", "typing must be true or false.")
        with self._db() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.agent_id != agent_id or conversation.state != "active":
                raise ServiceError("forbidden", "Only the assigned agent may type in an active conversation.", status=403)
            client_id = conversation.client_id
        self.typing(conversation_id=conversation_id, client_id=client_id, sender="agent", typing=typing,
                    agent_id=agent_id)

    # --- agents ---------------------------------------------------------------
    def agent_connected(self, *, agent_id: int, connection_id: str) -> None:
        self._state.presence_touch(agent_id=agent_id, connection_id=connection_id, ttl=self._presence_ttl)
        self._events.publish(QueueChanged())

    def agent_heartbeat(self, *, agent_id: int, connection_id: str) -> None:
        self._state.presence_touch(agent_id=agent_id, connection_id=connection_id, ttl=self._presence_ttl)

    def agent_disconnected(self, *, agent_id: int, connection_id: str) -> None:
        self._state.presence_drop(agent_id=agent_id, connection_id=connection_id)

    def set_status(self, *, agent_id: int, status: Any) -> str:
        """Set the agent's chosen status, online or away; it survives reconnects."""
        if status not in ("online", "away"):
            raise ServiceError("invalid", "status must be online or away.")
        now = self._clock()
        with self._db.begin() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise ServiceError("not_found", "No such agent.", status=404)
            if status == "online" and not agent.works_outside_hours and agent.teams:
                calendars = self._hours.load(session)
                if not any(is_open(calendars[team], now) for team in agent.teams if team in calendars):
                    openings = [opens for opens in (next_opening(calendars[team], now) for team in agent.teams
                                                    if team in calendars) if opens]
                    when = f" It opens at {format_opening(min(openings), zone=visitor_zone('UTC'))}." \
                        if openings else ""
                    raise ServiceError("team_closed", "Your teams are closed now; an admin can let you work "
                                       f"outside hours.{when}", status=409)
            agent.availability = status
        self._state.agent_status_set(agent_id=agent_id, status=status)
        self._events.publish(AgentChanged(agent_id))
        return status

    def agent_view(self, *, agent_id: int) -> AgentView | None:
        """Return what routing knows of an agent now."""
        with self._db() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                return None
            return self._agent_views(session, [agent])[0]

    def _agent_views(self, session: Session, agents: Sequence[Agent],
                     calendars: dict[str, TeamCalendar] | None = None) -> list[AgentView]:
        ids = [agent.id for agent in agents]
        present = self._state.present_agents()
        statuses = self._state.agent_statuses(agent_ids=ids)
        loads = self._state.load_get(agent_ids=ids)
        now = self._clock()
        calendars = calendars if calendars is not None else self._hours.load(session)
        closed = frozenset(team for team, calendar in calendars.items() if not is_open(calendar, now))
        return [AgentView(id=agent.id, languages=tuple(agent.languages), teams=tuple(agent.teams),
                          capacity=agent.capacity, load=loads.get(agent.id, 0),
                          online=agent.id in present and statuses.get(agent.id, agent.availability) == "online",
                          closed_teams=frozenset() if agent.works_outside_hours else closed)
                for agent in agents]

    def queue_snapshot(self) -> list[QueueEntry]:
        """Return the shared queue, best first: read it once and hand it to the methods below."""
        return self._state.queue_entries()

    def queues_for_present_agents(self, entries: Sequence[QueueEntry] | None = None) -> dict[int, dict[str, Any]]:
        """Return each present agent's queue payload, from one snapshot of the shared queue."""
        entries = self.queue_snapshot() if entries is None else entries
        present = self._state.present_agents()
        if not present:
            return {}
        with self._db() as session:
            agents = session.scalars(select(Agent).where(Agent.id.in_(present))).all()
            views = self._agent_views(session, agents)
        return {view.id: self._queue_payload(view, entries) for view in views}

    def queue_for(self, *, agent_id: int) -> dict[str, Any]:
        view = self.agent_view(agent_id=agent_id)
        if view is None:
            raise ServiceError("not_found", "No such agent.", status=404)
        return self._queue_payload(view, self._state.queue_entries())

    @staticmethod
    def _queue_payload(view: AgentView, entries: Sequence[QueueEntry]) -> dict[str, Any]:
        conversations = visible_queue(view, (
            (_queue_item(entry), {key: value for key, value in entry.summary.items() if key != "client_db_id"})
            for entry in entries))
        return {"conversations": conversations, "status": "online" if view.online else "away",
                "load": view.load, "capacity": view.capacity, "at_capacity": view.load >= view.capacity,
                "closed_teams": sorted(set(view.teams) & set(view.closed_teams))}

    def queued_conversations(self, entries: Sequence[QueueEntry] | None = None,
                             estimate: Callable[[tuple[str, str], int], dict[str, Any]] | None = None
                             ) -> list[dict[str, Any]]:
        """Return every queued conversation as its visitor sees it, with its queue position.

        Each also carries "client_db_id", saying whom to tell; callers pop it.
        """
        conversations = []
        counters: dict[tuple[str, str], int] = {}
        if estimate is None:
            estimate = self.wait_estimator()
        entries = self.queue_snapshot() if entries is None else entries
        for entry in entries:
            summary = entry.summary
            segment = (summary["queue_language"], summary["team"])
            counters[segment] = counters.get(segment, 0) + 1
            conversations.append({
                "id": entry.conversation_id, "state": "queued", "language": summary["language"],
                "team": summary["team"], "priority": summary["priority"], "queue_position": counters[segment],
                "agent": None, "sla_due_at": summary["sla_due_at"], "created_at": summary["created_at"],
                "state_since": summary.get("waiting_since"),
                **estimate(segment, counters[segment]),
                "client_db_id": summary["client_db_id"]})
        return conversations

    def wait_estimator(self) -> Callable[[tuple[str, str], int], dict[str, Any]]:
        """Return a function estimating the wait at a position of a (language, team) segment, from live capacity."""
        now = self._clock()
        present = self._state.present_agents()
        with self._db() as session:
            calendars = self._hours.load(session)
            agents = session.scalars(select(Agent).where(Agent.id.in_(present))).all() if present else []
            views = self._agent_views(session, agents, calendars)
            handled = session.execute(
                select(Conversation.team, Conversation.accepted_at, Conversation.closed_at)
                .where(Conversation.state == "closed", Conversation.accepted_at.is_not(None))
                .order_by(Conversation.closed_at.desc()).limit(HANDLING_SAMPLE)).all()
        minutes_by_team: dict[str, list[float]] = {}
        for team, accepted_at, closed_at in handled:
            minutes_by_team.setdefault(team, []).append((closed_at - accepted_at).total_seconds() / 60)
        cache: dict[tuple[str, str], tuple[int, int, int]] = {}

        def estimate(segment: tuple[str, str], position: int) -> dict[str, Any]:
            language, team = segment
            if segment not in cache:
                takers = [view for view in views
                          if can_take(view, QueueItem(0, language, team), check_load=False) is None]
                cache[segment] = (len(takers), sum(max(0, view.capacity - view.load) for view in takers),
                                  sum(view.capacity for view in takers))
            online, free, total = cache[segment]
            samples = minutes_by_team.get(team)
            calendar = calendars[team]
            opened = is_open(calendar, now)
            return estimate_wait(position=position, agents_online=online, free_slots=free, total_slots=total,
                                 handling_minutes=sum(samples) / len(samples) if samples else None, now=now,
                                 team_open=opened, next_opening=None if opened else next_opening(calendar, now)
                                 ).as_dict()

        return estimate

    def assigned(self, *, agent_id: int) -> list[dict[str, Any]]:
        """Return the agent's active conversations."""
        with self._db() as session:
            conversations = session.scalars(select(Conversation).where(
                Conversation.agent_id == agent_id, Conversation.state == "active").order_by(Conversation.accepted_at)).all()
            return [agent_conversation_view(conversation, caution=self._caution(conversation)) for conversation in conversations]

    def agent_history(self, *, agent_id: int, conversation_id: Any, after_seq: Any = None) -> dict[str, Any]:
        conversation_id = self._conversation_id(conversation_id)
        after_seq = _cursor(after_seq, field="after_seq")
        with self._db() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise ServiceError("not_found", "No such conversation.", status=404)
            agent = session.get(Agent, agent_id)
            mine = conversation.agent_id == agent_id
            if not mine and agent.role != "admin":
                item = QueueItem(conversation.id, conversation.queue_language, conversation.team)
                if conversation.state != "queued" or can_take(self._agent_views(session, [agent])[0], item,
                                                              check_load=False) == "forbidden":
                    raise ServiceError("forbidden", "This conversation is not yours.", status=403)
            return {"conversation": agent_conversation_view(conversation, caution=self._caution(conversation)),
                    "messages": self._messages(session, conversation.id, after_seq=after_seq)}

    def accept(self, *, agent_id: int, conversation_id: Any) -> dict[str, Any]:
        """Assign a queued conversation to the agent; exactly one agent wins."""
        conversation_id = self._conversation_id(conversation_id)
        with self._db() as session:
            conversation = session.get(Conversation, conversation_id)
            agent = session.get(Agent, agent_id)
            if conversation is None:
                raise ServiceError("not_found", "No such conversation.", status=404)
            if conversation.state != "queued":
                raise ServiceError("taken", "This conversation is no longer waiting.", status=409)
            view = self._agent_views(session, [agent])[0]
            refusal = can_take(view, QueueItem(conversation.id, conversation.queue_language, conversation.team),
                               check_load=False)
        if refusal == "forbidden":
            raise ServiceError("forbidden", "This conversation needs a language or team you do not have.", status=403)
        if refusal == "not_online":
            raise ServiceError("not_online", "Set yourself online to accept conversations.", status=409)
        if refusal == "team_closed":
            raise ServiceError("team_closed", "This conversation's team is closed now; an admin can let you "
                               "work outside hours.", status=409)
        # Reserve a slot first, atomically against capacity, so two accepts
        # at once cannot both squeeze into the agent's last slot.
        if not self._state.load_reserve(agent_id=agent_id, capacity=view.capacity):
            raise ServiceError("at_capacity", "You are at your capacity; close a conversation first.", status=409)
        now = self._clock()
        try:
            with self._db.begin() as session:
                # The conditional update is the arbiter: across processes and
                # databases exactly one UPDATE finds the row still queued.
                won = session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id, Conversation.state == "queued")
                    .values(state="active", agent_id=agent_id, accepted_at=now)
                ).rowcount == 1
        except Exception:
            self._state.load_release(agent_id=agent_id)
            raise
        if not won:
            self._state.load_release(agent_id=agent_id)
            raise ServiceError("taken", "Another agent accepted this conversation first.", status=409)
        self._state.queue_remove(conversation_id=conversation_id)
        with self._db() as session:
            conversation = session.get(Conversation, conversation_id)
            agent_payload = agent_conversation_view(conversation, caution=self._caution(conversation))
            client_id = conversation.client_id
        self._events.publish(
            ConversationChanged(self.conversation_for_visitor(conversation_id), client_id=client_id, agent_ids=(agent_id,)),
            QueueChanged())
        return agent_payload

    def post_agent_message(self, *, agent_id: int, conversation_id: Any, message_client_id: Any, text: Any) -> dict[str, Any]:
        """Store and deliver the assigned agent's message."""
        conversation_id = self._conversation_id(conversation_id)
        message_client_id = self._client_id(message_client_id)
        text = self._text(text)
        now = self._clock()
        try:
            with self._db.begin() as session:
                conversation = session.get(Conversation, conversation_id)
                if conversation is None:
                    raise ServiceError("not_found", "No such conversation.", status=404)
                if conversation.agent_id != agent_id or conversation.state != "active":
                    raise ServiceError("forbidden", "Only the assigned agent may write in an active conversation.", status=403)
                existing = session.scalar(select(Message).where(
                    Message.conversation_id == conversation_id, Message.client_id == message_client_id))
                if existing is not None:
                    return message_view(existing)
                message = self._add_message(session, conversation, sender="agent", agent_id=agent_id, text=text,
                                            client_id=message_client_id, created_at=now)
                if conversation.first_response_at is None:
                    conversation.first_response_at = now
                session.flush()
                session.refresh(message)
                payload = message_view(message)
                client_id = conversation.client_id
        except IntegrityError:
            # The same client_id raced in from another tab or process: return the stored one.
            with self._db() as session:
                existing = session.scalar(select(Message).where(
                    Message.conversation_id == conversation_id, Message.client_id == message_client_id))
                return message_view(existing)
        self._events.publish(MessagePosted(payload, client_id=client_id, agent_id=agent_id))
        return payload

    def close(self, *, agent_id: int, conversation_id: Any) -> dict[str, Any]:
        """Close a conversation: its assigned agent, or an admin, may."""
        conversation_id = self._conversation_id(conversation_id)
        now = self._clock()
        with self._db.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            agent = session.get(Agent, agent_id)
            if conversation is None:
                raise ServiceError("not_found", "No such conversation.", status=404)
            if conversation.agent_id != agent_id and agent.role != "admin":
                raise ServiceError("forbidden", "Only the assigned agent or an admin may close this conversation.", status=403)
            if conversation.state == "closed":
                raise ServiceError("closed", "This conversation is already closed.", status=409)
            previous_state, assigned = conversation.state, conversation.agent_id
            conversation.state = "closed"
            conversation.closed_at = now
            self._add_message(session, conversation, sender="system", event="conversation_closed", created_at=now,
                              text=self._catalog.text("conversation_closed", language=conversation.language))
            client_id = conversation.client_id
        if previous_state == "active" and assigned is not None:
            self._state.load_release(agent_id=assigned)
        self._state.queue_remove(conversation_id=conversation_id)
        view = self.conversation_for_visitor(conversation_id)
        agents = tuple({agent_id, assigned} - {None})
        self._events.publish(ConversationChanged(view, client_id=client_id, agent_ids=agents), QueueChanged())
        return view

    # --- transfer, release and the away grace period ----------------------------
    def transfer(self, *, agent_id: int, conversation_id: Any, to_agent_id: Any = None,
                 to_team: Any = None) -> dict[str, Any]:
        """Hand an active conversation to another agent, or back to the queue of another team."""
        conversation_id = self._conversation_id(conversation_id)
        if (to_agent_id is None) == (to_team is None):
            raise ServiceError("invalid", "Give exactly one of to_agent_id or to_team.")
        if to_team is not None and to_team not in TEAMS:
            raise ServiceError("invalid", f"to_team must be one of: {', '.join(TEAMS)}.")
        if to_agent_id is not None:
            to_agent_id = positive_id(to_agent_id, field="to_agent_id")
        with self._db() as session:
            conversation = session.get(Conversation, conversation_id)
            caller = session.get(Agent, agent_id)
            if conversation is None:
                raise ServiceError("not_found", "No such conversation.", status=404)
            if conversation.agent_id != agent_id and caller.role != "admin":
                raise ServiceError("forbidden", "Only the assigned agent or an admin may transfer this "
                                   "conversation.", status=403)
            if conversation.state != "active":
                raise ServiceError("not_active", "Only a conversation with an agent can be transferred.", status=409)
            current = conversation.agent_id
            target_view = None
            if to_agent_id is not None:
                target = session.get(Agent, to_agent_id)
                if target is None or not target.active:
                    raise ServiceError("not_found", "No such agent.", status=404)
                if to_agent_id == current:
                    raise ServiceError("invalid", "The conversation is already with this agent.")
                target_view = self._agent_views(session, [target])[0]
                refusal = can_take(target_view, QueueItem(conversation.id, conversation.queue_language,
                                                          conversation.team), check_load=False)
                if refusal == "forbidden":
                    raise ServiceError("forbidden", f"{target.name} does not work in this conversation's "
                                       "language or team; transfer to a team instead.", status=403)
                if refusal is not None:
                    raise ServiceError("unavailable", f"{target.name} cannot take conversations now.", status=409)
        if to_agent_id is not None:
            if not self._state.load_reserve(agent_id=to_agent_id, capacity=target_view.capacity):
                raise ServiceError("at_capacity", "That agent is at capacity.", status=409)
            now = self._clock()
            try:
                with self._db.begin() as session:
                    moved = session.execute(
                        update(Conversation).where(Conversation.id == conversation_id,
                                                   Conversation.state == "active", Conversation.agent_id == current)
                        .values(agent_id=to_agent_id, accepted_at=now)).rowcount == 1
                    if moved:
                        self._add_transfer_notice(session, conversation_id, "conversation_transferred", now)
            except Exception:
                self._state.load_release(agent_id=to_agent_id)
                raise
            if not moved:
                self._state.load_release(agent_id=to_agent_id)
                raise ServiceError("conflict", "The conversation changed meanwhile; try again.", status=409)
            self._state.load_release(agent_id=current)
            log.info("conversation %s transferred from agent %s to agent %s", conversation_id, current, to_agent_id)
            return self._after_reassignment(conversation_id, agent_ids=(current, to_agent_id))
        with self._db.begin() as session:
            moved = self._requeue_active(session, conversation_id, expected_agent=current, team=to_team)
        if not moved:
            raise ServiceError("conflict", "The conversation changed meanwhile; try again.", status=409)
        self._state.load_release(agent_id=current)
        log.info("conversation %s transferred from agent %s to team %s", conversation_id, current, to_team)
        return self._after_reassignment(conversation_id, agent_ids=(current,))

    def _add_transfer_notice(self, session: Session, conversation_id: int, event: str, now: datetime) -> None:
        conversation = session.get(Conversation, conversation_id)
        self._add_message(session, conversation, sender="system", event=event, created_at=now,
                          text=self._catalog.text(event, language=conversation.language))

    def _requeue_active(self, session: Session, conversation_id: int, *, expected_agent: int,
                        team: str | None = None, unanswered_only: bool = False) -> bool:
        """Put an active conversation back in the queue (of team, when given); False if it changed meanwhile."""
        now = self._clock()
        condition = [Conversation.id == conversation_id, Conversation.state == "active",
                     Conversation.agent_id == expected_agent]
        if unanswered_only:
            condition.append(Conversation.first_response_at.is_(None))
        values: dict[str, Any] = {"state": "queued", "agent_id": None, "accepted_at": None, "queued_at": now}
        if team is not None:
            values["team"] = team
        if session.execute(update(Conversation).where(*condition).values(**values)).rowcount != 1:
            return False
        self._add_transfer_notice(session, conversation_id, "conversation_requeued", now)
        return True

    def _after_reassignment(self, conversation_id: int, *, agent_ids: tuple[int, ...]) -> dict[str, Any]:
        """Sync the queue, tell the visitor and the agents involved; return the conversation as agents see it."""
        with self._db() as session:
            conversation = session.get(Conversation, conversation_id)
            entry = self._queue_entry(session, conversation) if conversation.state == "queued" else None
            notice = session.scalar(select(Message).where(Message.conversation_id == conversation_id)
                                    .order_by(Message.seq.desc()).limit(1))
            notice_payload = message_view(notice)
            agent_payload = agent_conversation_view(conversation, caution=self._caution(conversation))
            client_id, assigned = conversation.client_id, conversation.agent_id
        self._sync_queue(conversation_id, entry)
        self._events.publish(
            MessagePosted(notice_payload, client_id=client_id, agent_id=assigned),
            ConversationChanged(self.conversation_for_visitor(conversation_id), client_id=client_id,
                                agent_ids=tuple(dict.fromkeys(agent_ids))),
            QueueChanged())
        return agent_payload

    def release_agent(self, *, agent_id: int, unanswered_only: bool = False) -> list[int]:
        """Return the agent's active conversations (only those without a reply, if asked) to the queue."""
        with self._db() as session:
            ids = session.scalars(select(Conversation.id).where(
                Conversation.agent_id == agent_id, Conversation.state == "active")).all()
        released = []
        for conversation_id in ids:
            with self._db.begin() as session:
                moved = self._requeue_active(session, conversation_id, expected_agent=agent_id,
                                             unanswered_only=unanswered_only)
            if moved:
                self._state.load_release(agent_id=agent_id)
                released.append(conversation_id)
                log.info("conversation %s returned to the queue from agent %s", conversation_id, agent_id)
                self._after_reassignment(conversation_id, agent_ids=(agent_id,))
        return released

    def sweep_unavailable(self, *, grace_seconds: float) -> list[int]:
        """Requeue unanswered conversations of agents away or offline for longer than the grace period."""
        now = self._clock()
        present = self._state.present_agents()
        with self._db() as session:
            holders = session.scalars(select(Agent).where(Agent.id.in_(
                select(Conversation.agent_id).where(Conversation.state == "active",
                                                    Conversation.first_response_at.is_(None))))).all()
            statuses = self._state.agent_statuses(agent_ids=[agent.id for agent in holders])
            waiting = [(agent.id, agent.unavailable_since, agent.id in present
                        and statuses.get(agent.id, agent.availability) == "online") for agent in holders]
        released: list[int] = []
        for holder_id, since, available in waiting:
            if available:
                if since is not None:
                    self._mark_unavailable(holder_id, None)
                continue
            if since is None:
                self._mark_unavailable(holder_id, now)
            elif (now - since).total_seconds() >= grace_seconds:
                released += self.release_agent(agent_id=holder_id, unanswered_only=True)
                self._mark_unavailable(holder_id, None)
        return released

    def _mark_unavailable(self, agent_id: int, since: datetime | None) -> None:
        with self._db.begin() as session:
            session.execute(update(Agent).where(Agent.id == agent_id).values(unavailable_since=since))

    def inactive_among(self, *, agent_ids: set[int]) -> list[int]:
        """Return which of the given agents are deactivated (or gone)."""
        if not agent_ids:
            return []
        with self._db() as session:
            active = set(session.scalars(select(Agent.id).where(Agent.id.in_(agent_ids), Agent.active.is_(True))))
        return sorted(agent_ids - active)

    def directory(self) -> list[dict[str, Any]]:
        """Return every active agent with whether they are online now, for transfers."""
        with self._db() as session:
            agents = session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name)).all()
            views = {view.id: view for view in self._agent_views(session, agents)}
            return [{"id": agent.id, "name": agent.name, "languages": list(agent.languages),
                     "teams": list(agent.teams), "online": views[agent.id].online,
                     "load": views[agent.id].load, "capacity": agent.capacity} for agent in agents]

    def overview(self) -> dict[str, Any]:
        """Return the live picture admins watch: queue per language and team, agents online, AI conversations."""
        entries = self.queue_snapshot()
        by_language: dict[str, int] = {}
        by_team: dict[str, int] = {}
        for entry in entries:
            by_language[entry.summary["queue_language"]] = by_language.get(entry.summary["queue_language"], 0) + 1
            by_team[entry.summary["team"]] = by_team.get(entry.summary["team"], 0) + 1
        agents = self.directory()
        with self._db() as session:
            ai = session.scalar(select(func.count()).select_from(Conversation).where(Conversation.state == "ai"))
            active = session.scalar(select(func.count()).select_from(Conversation)
                                    .where(Conversation.state == "active"))
        return {"queued": len(entries), "queue_by_language": by_language, "queue_by_team": by_team,
                "agents_online": [agent for agent in agents if agent["online"]], "agents_total": len(agents),
                "conversations_with_ai": ai, "conversations_active": active}

    # --- office hours, tiers and Here and now -----------------------------------
    def ask_ai_until_opening(self, *, client_id: int) -> dict[str, Any]:
        """Let the AI agent answer a conversation queued for a closed team until the team opens."""
        now = self._clock()
        with self._db.begin() as session:
            conversation = self._open_for_client(session, client_id)
            if conversation is None:
                raise ServiceError("no_conversation", "There is no open conversation; send a message first.")
            if conversation.state != "queued":
                raise ServiceError("not_queued", "The AI can step in only while the conversation waits in the queue.",
                                   status=409)
            if is_open(self._hours.load(session)[conversation.team], now):
                raise ServiceError("team_open", "The team is open; a person will answer shortly.", status=409)
            # Conditional: an agent accepting at the same moment wins.
            moved = session.execute(
                update(Conversation).where(Conversation.id == conversation.id, Conversation.state == "queued")
                .values(state="ai", ai_until_opening=True)).rowcount == 1
            conversation_id = conversation.id
        if not moved:
            raise ServiceError("not_queued", "An agent has just taken the conversation.", status=409)
        self._state.queue_remove(conversation_id=conversation_id)
        view = self.conversation_for_visitor(conversation_id)
        self._events.publish(ConversationChanged(view, client_id=client_id), QueueChanged())
        self.on_ai_turn(conversation_id)
        return view

    def return_opened_from_ai(self) -> list[int]:
        """Hand conversations the AI kept while their team was closed back to the queue of the now-open team."""
        now = self._clock()
        with self._db() as session:
            calendars = self._hours.load(session)
            candidates = session.execute(select(Conversation.id, Conversation.team).where(
                Conversation.state == "ai", Conversation.ai_until_opening.is_(True))).all()
        opened = [conversation_id for conversation_id, team in candidates if is_open(calendars[team], now)]
        return [conversation_id for conversation_id in opened
                if self.hand_to_humans(conversation_id=conversation_id, reason="team_open", note=False)]

    def requeue(self, *, conversation_id: int) -> None:
        """Put a queued conversation back in the shared queue with its current score, and tell everyone."""
        with self._db() as session:
            conversation = session.get(Conversation, conversation_id)
            entry = self._queue_entry(session, conversation) if conversation and conversation.state == "queued" \
                else None
        self._sync_queue(conversation_id, entry)
        self._events.publish(QueueChanged())

    def retier_client(self, *, client_id: int) -> list[int]:
        """Re-evaluate the tier of the client's queued conversations after a subscription change."""
        now = self._clock()
        changed = []
        with self._db.begin() as session:
            client = session.get(Client, client_id)
            if client is None:
                return []
            priority = initial_priority(subscribed=client.has_active_subscription(now=now))
            conversations = session.scalars(select(Conversation).where(
                Conversation.client_id == client_id, Conversation.state == "queued",
                Conversation.priority.in_(("subscribed", "standard")))).all()
            for conversation in conversations:
                if conversation.priority != priority:
                    conversation.priority = priority
                    self._apply_sla(conversation)
                    changed.append(conversation.id)
        for conversation_id in changed:
            log.info("conversation %s re-tiered to %s", conversation_id, priority)
            self.requeue(conversation_id=conversation_id)
            self._events.publish(ConversationChanged(self.conversation_for_visitor(conversation_id),
                                                     client_id=client_id))
        return changed

    def promote_here_and_now(self, *, conversation_id: int) -> bool:
        """Move a paid conversation to the top tier of the technical queue and offer it to a specialist."""
        now = self._clock()
        with self._db.begin() as session:
            # The conditional update is the arbiter: a conversation is promoted once.
            promoted = session.execute(
                update(Conversation).where(Conversation.id == conversation_id, Conversation.state != "closed",
                                           Conversation.priority != "here_and_now")
                .values(priority="here_and_now", team=HERE_AND_NOW_TEAM)).rowcount == 1
            if not promoted:
                return False
            conversation = session.get(Conversation, conversation_id)
            if conversation.state == "ai":
                # A paid question goes to a person; the AI steps aside.
                conversation.state = "queued"
                conversation.ai_until_opening = False
                conversation.queue_language = panel_queue_language(
                    conversation.language, panel_languages(session)) or FALLBACK_LANGUAGE
            if conversation.state == "queued":
                conversation.queued_at = now
            self._apply_sla(conversation, start=now)
            notice = self._add_message(session, conversation, sender="system", event="here_and_now_confirmed",
                                       created_at=now, text=self._catalog.text(
                                           "here_and_now_confirmed", language=conversation.language))
            session.flush()
            notice_payload = message_view(notice)
            client_id, state = conversation.client_id, conversation.state
            item = QueueItem(conversation.id, conversation.queue_language, conversation.team)
        self.requeue(conversation_id=conversation_id)
        self._events.publish(MessagePosted(notice_payload, client_id=client_id, agent_id=None),
                             ConversationChanged(self.conversation_for_visitor(conversation_id), client_id=client_id))
        if state == "queued":
            specialist = self._next_specialist(item)
            if specialist is not None:
                self._events.publish(HereAndNowOffered(agent_id=specialist, conversation_id=conversation_id))
        return True

    def here_and_now_specialist_online(self, *, conversation_id: int) -> bool:
        """Return whether a technical specialist who could take this conversation is online now."""
        with self._db() as session:
            conversation = session.get(Conversation, conversation_id)
            language = panel_queue_language(conversation.language, panel_languages(session)) or FALLBACK_LANGUAGE
        item = QueueItem(conversation_id, language, HERE_AND_NOW_TEAM)
        present = self._state.present_agents()
        if not present:
            return False
        with self._db() as session:
            agents = session.scalars(select(Agent).where(Agent.id.in_(present))).all()
            return any(can_take(view, item, check_load=False) is None for view in self._agent_views(session, agents))

    def _next_specialist(self, item: QueueItem) -> int | None:
        """Return the online specialist who can take item with the most free slots, if any."""
        present = self._state.present_agents()
        if not present:
            return None
        with self._db() as session:
            agents = session.scalars(select(Agent).where(Agent.id.in_(present))).all()
            views = [view for view in self._agent_views(session, agents) if can_take(view, item) is None]
        if not views:
            return None
        return max(views, key=lambda view: (view.capacity - view.load, -view.id)).id

    # --- repair -----------------------------------------------------------------
    def repair(self) -> None:
        """Rebuild the shared queue and agents' loads from the database, healing any drift."""
        with self._db() as session:
            queued = session.scalars(select(Conversation).where(Conversation.state == "queued")).all()
            entries = [self._queue_entry(session, conversation) for conversation in queued]
            loads = dict(session.execute(
                select(Conversation.agent_id, func.count()).where(Conversation.state == "active")
                .group_by(Conversation.agent_id)).all())
            agent_ids = session.scalars(select(Agent.id)).all()
            statuses = dict(session.execute(select(Agent.id, Agent.availability)).all())
        self._state.queue_replace(entries=entries)
        self._state.load_set(loads={agent_id: loads.get(agent_id, 0) for agent_id in agent_ids})
        for agent_id, status in statuses.items():
            self._state.agent_status_set(agent_id=agent_id, status=status)

    # --- internals ----------------------------------------------------------------
    def conversation_for_visitor(self, conversation_id: int) -> dict[str, Any]:
        with self._db() as session:
            return self._visitor_view(session.get(Conversation, conversation_id))

    def _visitor_view(self, conversation: Conversation) -> dict[str, Any]:
        view = conversation_view(conversation, queue_position=None)
        if conversation.state == "queued":
            view.update(self._queue_details(conversation.id))
        return view

    def _queue_details(self, conversation_id: int) -> dict[str, Any]:
        """Return the visitor's queue position and wait estimate (position None when not in the queue)."""
        queued = next((queued for queued in self.queued_conversations() if queued["id"] == conversation_id), None)
        if queued is None:
            return {"queue_position": None}
        return {key: queued[key] for key in ("queue_position", "estimated_wait_minutes", "next_agent_expected_at",
                                             "estimate_basis")}

    @staticmethod
    def _add_message(session: Session, conversation: Conversation, **fields: Any) -> Message:
        """Add a message with the conversation's next sequence number."""
        if conversation.id is None:
            session.flush()
        seq = session.execute(
            update(Conversation).where(Conversation.id == conversation.id)
            .values(last_seq=Conversation.last_seq + 1).returning(Conversation.last_seq)).scalar_one()
        message = Message(conversation_id=conversation.id, seq=seq, **fields)
        session.add(message)
        return message

    @staticmethod
    def _open_for_client(session: Session, client_id: int) -> Conversation | None:
        return session.scalar(select(Conversation).where(
            Conversation.client_id == client_id, Conversation.state != "closed"))

    @staticmethod
    def _messages(session: Session, conversation_id: int, *, after_seq: int = 0,
                  after_id: int = 0) -> list[dict[str, Any]]:
        messages = session.scalars(select(Message).where(
            Message.conversation_id == conversation_id, Message.seq > after_seq, Message.id > after_id)
            .order_by(Message.seq)).all()
        return [message_view(message) for message in messages]

    def _decide(self, session: Session, conversation: Conversation) -> LanguageDecision:
        evidence = session.execute(
            select(Message.language_scores, Message.language_weight)
            .where(Message.conversation_id == conversation.id, Message.sender == "visitor")
            .order_by(Message.id)).all()
        return decide_language(messages=[(scores, weight) for scores, weight in evidence],
                               panel_language=conversation.panel_language,
                               browser_languages=conversation.browser_languages or ())

    def _route(self, session: Session, conversation: Conversation, decision: LanguageDecision, *,
               client: Client, now: datetime) -> None:
        """Decide where the conversation waits, from its language decision."""
        supported = set(panel_languages(session))
        human_priority = initial_priority(subscribed=client.has_active_subscription(now=now))
        new = conversation.state == "new"
        if new or conversation.state in ("queued", "ai"):
            if new or should_reroute(current=conversation.language, decision=decision) or (
                    conversation.language == "und" and decision.language != "und"):
                conversation.language = decision.language
            conversation.language_explanation = decision.explanation
            conversation.language_confidence = decision.confidence
            conversation.language_decision = decision.as_dict()
        if not new and conversation.state != "ai" and not (
                conversation.state == "queued" and conversation.priority != "ai"):
            return  # With a human, or handed over by request: the language no longer routes.
        if conversation.ai_until_opening:
            return  # The AI helps until the team opens; the scheduler hands it back.
        if conversation.state == "queued" and conversation.priority == "here_and_now":
            return  # Paid for: neither language nor subscription moves it down.
        language = conversation.language
        panel_language = FALLBACK_LANGUAGE if language == "und" else panel_queue_language(language, supported)
        if panel_language is not None:
            target = (panel_language, "queued", human_priority)
        else:
            target = (language, "ai", "ai")
        if conversation.state == "queued" and conversation.priority == "ai" and target[1] == "ai":
            return  # Handed to humans already; never back to the AI.
        queue_language, state, priority = target
        if (conversation.queue_language, conversation.state, conversation.priority) != target:
            tier_changed = conversation.priority != priority
            conversation.queue_language, conversation.state, conversation.priority = queue_language, state, priority
            if state == "queued":
                conversation.queued_at = now
            if tier_changed or new:
                self._apply_sla(conversation)

    def _apply_sla(self, conversation: Conversation, *, start: datetime | None = None) -> None:
        """Set the conversation's deadline, escalation point and warning from its tier, counted from arrival."""
        schedule = self._sla.schedule(priority=conversation.priority, arrived_at=start or conversation.created_at)
        conversation.sla_due_at = schedule.due_at
        conversation.sla_escalate_at = schedule.escalate_at
        conversation.sla_warn_at = schedule.warn_at
        # A new deadline starts a new promise: aging and warning apply afresh.
        conversation.sla_escalated_at = None
        conversation.sla_warned_at = None

    def _closed_team_notice(self, session: Session, conversation: Conversation, *, now: datetime) -> Message | None:
        """Tell the visitor when a closed team opens, on their clock and in their language."""
        calendar = self._hours.load(session)[conversation.team]
        if is_open(calendar, now):
            return None
        opens_at = next_opening(calendar, now)
        language = conversation.language if conversation.language != "und" else (
            conversation.panel_language or FALLBACK_LANGUAGE)
        if opens_at is None:
            text = self._catalog.text("team_closed_no_opening", language=language)
        else:
            text = self._catalog.text("team_closed", language=language).format(
                opens_at=format_opening(opens_at, zone=visitor_zone(conversation.visitor_timezone)))
        return self._add_message(session, conversation, sender="system", event="team_closed", text=text,
                                 created_at=now)

    def _queue_entry(self, session: Session, conversation: Conversation) -> QueueEntry:
        first = session.scalar(select(Message.text).where(
            Message.conversation_id == conversation.id, Message.sender == "visitor").order_by(Message.id).limit(1))
        summary = queue_summary(conversation, preview=first or "", now=self._clock(),
                                caution=self._caution(conversation))
        summary["client_db_id"] = conversation.client_id
        return QueueEntry(conversation_id=conversation.id,
                          score=queue_score(priority=conversation.priority, sla_due_at=conversation.sla_due_at,
                                            escalated=conversation.sla_escalated_at is not None),
                          summary=summary)

    def _sync_queue(self, conversation_id: int, entry: QueueEntry | None) -> None:
        if entry is None:
            self._state.queue_remove(conversation_id=conversation_id)
        else:
            self._state.queue_put(conversation_id=entry.conversation_id, score=entry.score, summary=entry.summary)


def _cursor(value: Any, *, field: str) -> int:
    """Read an optional resume point: absent or 0 means from the start."""
    return 0 if value in (None, 0) else positive_id(value, field=field)


def _queue_item(entry: QueueEntry) -> QueueItem:
    return QueueItem(entry.conversation_id, entry.summary["queue_language"], entry.summary["team"])
