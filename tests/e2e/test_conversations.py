"""Conversation behaviour end to end: idempotency, races, capacity, status, ownership, close, language
stability, the AI agent and handoff, queue positions and multi-tab visitors.

The server is shared by the whole module, so every test makes its own agents and clients and looks only at
the conversations it created.
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from ..support import ROOT, Peer
from .conftest import open_agent, open_visitor

ENGLISH = "Hello, I cannot log in to my account since this morning. Can you help me?"
ENGLISH_2 = "Hi, my invoice for last month shows the wrong amount, please check it."
GERMAN = "Guten Tag, meine Rechnung ist leider falsch. Können Sie mir bitte helfen?"
JAPANESE = "こんにちは、注文した商品がまだ届いていません。確認していただけますか？"
JAPANESE_2 = "注文番号は一二三四五です。よろしくお願いいたします。"
POLISH = "Dzień dobry, od wczoraj nie mogę zalogować się do swojego konta. Co mam zrobić?"
POLISH_2 = "Proszę o pilną pomoc, bo muszę dzisiaj zapłacić fakturę za usługę."
SWAHILI = "Habari, siwezi kuingia kwenye akaunti yangu tangu jana. Tafadhali nisaidie haraka."
SWAHILI_2 = "Nimejaribu kubadilisha nenosiri lakini bado haifanyi kazi hata kidogo."

with open(os.path.join(ROOT, "prompts", "catalog", "ai_acknowledgement.json"), encoding="utf-8") as _handle:
    ACKNOWLEDGEMENTS: dict[str, str] = json.load(_handle)


# --- helpers (local: tests/support.py is being edited elsewhere) ------------------------------------


def cid() -> str:
    return str(uuid.uuid4())


def ids(queue: dict) -> list[int]:
    return [conversation["id"] for conversation in queue["conversations"]]


def mine(queue: dict, wanted: list[int]) -> list[int]:
    """The ids of queue that are among wanted, in queue order."""
    return [i for i in ids(queue) if i in wanted]


def set_panel(world, codes: list[str]) -> None:
    got = world.admin.ok("PUT", "/api/admin/languages", {"languages": codes})["languages"]
    assert [language["code"] for language in got] == codes




def post(peer: Peer, text: str = ENGLISH, client_id: str | None = None, **extra: Any) -> dict:
    ack = peer.call("message", {"client_id": client_id or cid(), "text": text, **extra})
    assert ack["ok"], ack
    return ack


def agent_post(peer: Peer, conversation_id: int, text: str, client_id: str | None = None) -> dict:
    ack = peer.call("message", {"conversation_id": conversation_id, "client_id": client_id or cid(), "text": text})
    assert ack["ok"], ack
    return ack["message"]


def code(ack: Any) -> str:
    """'ok', or the error code of an error ack."""
    assert isinstance(ack, dict), ack
    if ack.get("ok") is True:
        return "ok"
    assert ack.get("ok") is False and set(ack["error"]) == {"code", "message"}, ack
    return ack["error"]["code"]


def events(peer: Peer, name: str, predicate: Callable[[Any], bool] = lambda data: True) -> list[Any]:
    return [data for event, data in list(peer.events) if event == name and predicate(data)]


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment, one thread each; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, fn: Callable[[], Any]) -> None:
        try:
            barrier.wait(10)
            results[index] = fn()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def history(peer: Peer) -> dict:
    answer = peer.call("history")
    assert answer["ok"], answer
    return answer


# --- idempotency ---------------------------------------------------------------------------------------------


def test_resending_a_client_id_returns_the_same_message_and_stores_one_copy(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, agent = open_agent(world, peers, languages=["en"])
    _, visitor = open_visitor(world, peers)

    first = post(visitor, ENGLISH, client_id="v-1")
    assert first["duplicate"] is False
    again = post(visitor, ENGLISH, client_id="v-1")
    assert again["duplicate"] is True and again["message"] == first["message"]
    # Same key, other text: still the first message, not a second one.
    changed = post(visitor, "Something else entirely, please ignore.", client_id="v-1")
    assert changed["duplicate"] is True and changed["message"]["id"] == first["message"]["id"]
    assert changed["message"]["text"] == ENGLISH
    conversation_id = first["message"]["conversation_id"]
    assert [m["client_id"] for m in history(visitor)["messages"]] == ["v-1"]
    time.sleep(0.3)
    assert len(events(visitor, "message", lambda m: m["client_id"] == "v-1")) == 1

    assert agent.call("accept", {"conversation_id": conversation_id})["ok"]
    reply = agent_post(agent, conversation_id, "Let me check.", client_id="a-1")
    resent = agent_post(agent, conversation_id, "Let me check.", client_id="a-1")
    assert resent["id"] == reply["id"]
    messages = agent.call("history", {"conversation_id": conversation_id})["messages"]
    assert [m["client_id"] for m in messages] == ["v-1", "a-1"]
    visitor.wait_for("message", lambda m: m["client_id"] == "a-1")
    time.sleep(0.3)
    assert len(events(visitor, "message", lambda m: m["client_id"] == "a-1")) == 1
    assert len(events(agent, "message", lambda m: m["client_id"] == "a-1")) == 1

    # Keys are per conversation: after close, the same key starts a new message in a new conversation.
    assert agent.call("close", {"conversation_id": conversation_id})["ok"]
    fresh = post(visitor, ENGLISH_2, client_id="v-1")
    assert fresh["duplicate"] is False and fresh["message"]["conversation_id"] != conversation_id


def test_racing_tabs_open_one_conversation_and_store_one_copy(world, peers: list[Peer]) -> None:
    """Two tabs of one visitor send their first message at the same instant."""
    set_panel(world, ["en", "de", "es"])
    for round_ in range(4):
        client, tab1 = open_visitor(world, peers)
        _, tab2 = open_visitor(world, peers, client=client)
        # The same client_id from both tabs: one message, one of the two acks is the duplicate.
        key = f"race-{round_}"
        a, b = race(lambda: tab1.call("message", {"client_id": key, "text": ENGLISH}),
                    lambda: tab2.call("message", {"client_id": key, "text": ENGLISH}))
        assert a["ok"] and b["ok"], (a, b)
        assert a["message"]["id"] == b["message"]["id"], (a, b)
        assert sorted([a["duplicate"], b["duplicate"]]) == [False, True], (a, b)
        assert [m["client_id"] for m in history(tab1)["messages"]] == [key]

        # Different client_ids racing on a fresh client: one conversation holding both.
        client, tab1 = open_visitor(world, peers)
        _, tab2 = open_visitor(world, peers, client=client)
        a, b = race(lambda: tab1.call("message", {"client_id": "tab-1", "text": ENGLISH}),
                    lambda: tab2.call("message", {"client_id": "tab-2", "text": ENGLISH_2}))
        assert a["ok"] and b["ok"], (a, b)
        assert a["message"]["conversation_id"] == b["message"]["conversation_id"], (a, b)
        assert sorted(m["client_id"] for m in history(tab2)["messages"]) == ["tab-1", "tab-2"]


# --- accept races and capacity ----------------------------------------------------------------------------------


def test_concurrent_accepts_by_two_agents_have_exactly_one_winner(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    first, first_peer = open_agent(world, peers, languages=["en"], capacity=2)
    second, second_peer = open_agent(world, peers, languages=["en"], capacity=2)
    by_id = {first["id"]: first_peer, second["id"]: second_peer}
    winners = []
    for _ in range(10):
        client = world.client()
        visitor = world.visitor(client)
        try:
            conversation_id = post(visitor)["message"]["conversation_id"]
            results = race(lambda: first_peer.call("accept", {"conversation_id": conversation_id}),
                           lambda: second_peer.call("accept", {"conversation_id": conversation_id}))
            assert sorted(code(r) for r in results) == ["ok", "taken"], results
            won = next(r for r in results if r["ok"])["conversation"]
            assert won["id"] == conversation_id and won["state"] == "active"
            winner = won["agent"]["id"]
            winners.append(winner)
            assert history(visitor)["conversation"]["agent"]["id"] == winner
            assert by_id[winner].call("close", {"conversation_id": conversation_id})["ok"]
        finally:
            visitor.disconnect()
    # Nobody leaked a slot: the loser gave its reservation back, the winner its slot on close.
    assert first_peer.call("queue")["load"] == 0
    assert second_peer.call("queue")["load"] == 0
    assert len(winners) == 10


def test_concurrent_accepts_by_one_agent_at_its_last_slot(world, peers: list[Peer]) -> None:
    """Two sockets of an agent with capacity 1 accept two conversations at once: one wins, one is at_capacity."""
    set_panel(world, ["en", "de", "es"])
    agent, tab1 = open_agent(world, peers, languages=["en"], capacity=1)
    tab2 = world.agent_peer(agent)
    peers.append(tab2)
    for _ in range(4):
        _, v1 = open_visitor(world, peers)
        _, v2 = open_visitor(world, peers)
        c1 = post(v1)["message"]["conversation_id"]
        c2 = post(v2)["message"]["conversation_id"]
        results = race(lambda: tab1.call("accept", {"conversation_id": c1}),
                       lambda: tab2.call("accept", {"conversation_id": c2}))
        assert sorted(code(r) for r in results) == ["at_capacity", "ok"], results
        won, lost = (c1, c2) if results[0]["ok"] else (c2, c1)
        assert tab1.call("queue")["load"] == 1
        assert tab1.call("close", {"conversation_id": won})["ok"]
        assert tab1.call("queue")["load"] == 0
        assert tab2.call("accept", {"conversation_id": lost})["ok"]
        assert tab2.call("close", {"conversation_id": lost})["ok"]
    assert tab1.call("queue")["load"] == 0


def test_capacity_one_agent_is_at_capacity_until_it_closes(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, agent = open_agent(world, peers, languages=["en"], capacity=1)
    _, v1 = open_visitor(world, peers)
    _, v2 = open_visitor(world, peers)
    c1 = post(v1)["message"]["conversation_id"]
    c2 = post(v2, ENGLISH_2)["message"]["conversation_id"]

    assert agent.call("accept", {"conversation_id": c1})["ok"]
    refused = agent.call("accept", {"conversation_id": c2})
    assert code(refused) == "at_capacity", refused
    assert history(v2)["conversation"]["state"] == "queued"
    queue = agent.call("queue")
    assert queue["load"] == 1 and queue["capacity"] == 1 and queue["at_capacity"] is True, queue
    assert c2 not in ids(queue)  # an agent at capacity sees nothing it could take
    pushed = agent.latest("queue", lambda q: q["at_capacity"])
    assert c2 not in ids(pushed)

    assert agent.call("close", {"conversation_id": c1})["ok"]
    queue = agent.call("queue")
    assert queue["load"] == 0 and queue["at_capacity"] is False and c2 in ids(queue), queue
    accepted = agent.call("accept", {"conversation_id": c2})
    assert accepted["ok"], accepted
    assert v2.wait_for("conversation", lambda c: c["id"] == c2 and c["state"] == "active")


# --- status -----------------------------------------------------------------------------------------------------


def test_away_agent_cannot_accept_and_sees_an_empty_queue(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    agent, agent_peer = open_agent(world, peers, languages=["en"])
    _, visitor = open_visitor(world, peers)
    conversation_id = post(visitor)["message"]["conversation_id"]
    assert conversation_id in ids(agent_peer.call("queue"))

    assert agent_peer.call("status", {"status": "away"}) == {"ok": True, "status": "away"}
    refused = agent_peer.call("accept", {"conversation_id": conversation_id})
    assert code(refused) == "not_online", refused
    queue = agent_peer.call("queue")
    assert queue["status"] == "away" and queue["conversations"] == [], queue
    pushed = agent_peer.latest("queue", lambda q: q["status"] == "away")
    assert pushed["conversations"] == []
    assert history(visitor)["conversation"]["state"] == "queued"

    # The chosen status survives a reconnect.
    agent_peer.disconnect()
    again = world.agent_peer(agent)
    peers.append(again)
    assert again.wait_for("queue")["status"] == "away"
    assert again.call("queue")["conversations"] == []
    listed = [a for a in world.admin.ok("GET", "/api/admin/agents")["agents"] if a["id"] == agent["id"]]
    assert listed[0]["availability"] == "away"

    assert again.call("status", {"status": "online"}) == {"ok": True, "status": "online"}
    queue = again.call("queue")
    assert queue["status"] == "online" and conversation_id in ids(queue), queue
    assert conversation_id in ids(again.latest("queue", lambda q: q["status"] == "online"))
    assert again.call("accept", {"conversation_id": conversation_id})["ok"]


# --- ownership and close ------------------------------------------------------------------------------------------


def test_only_the_assigned_agent_may_post_or_close(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, owner = open_agent(world, peers, languages=["en"])
    _, other = open_agent(world, peers, languages=["en"])
    _, visitor = open_visitor(world, peers)
    conversation_id = post(visitor)["message"]["conversation_id"]

    # Not yet accepted: nobody may write in it or close it; agents who may take it may read it.
    assert code(owner.call("message", {"conversation_id": conversation_id, "client_id": cid(), "text": "Hi"})) == "forbidden"
    assert code(other.call("close", {"conversation_id": conversation_id})) == "forbidden"
    assert other.call("history", {"conversation_id": conversation_id})["ok"]
    _, german_only = open_agent(world, peers, languages=["de"])
    assert code(german_only.call("history", {"conversation_id": conversation_id})) == "forbidden"

    assert owner.call("accept", {"conversation_id": conversation_id})["ok"]
    assert code(other.call("message", {"conversation_id": conversation_id, "client_id": cid(), "text": "I'm not yours"})) == "forbidden"
    assert code(other.call("close", {"conversation_id": conversation_id})) == "forbidden"
    assert code(other.call("accept", {"conversation_id": conversation_id})) == "taken"
    assert code(other.call("history", {"conversation_id": conversation_id})) == "forbidden"
    time.sleep(0.2)
    assert events(visitor, "message", lambda m: m["sender"] == "agent") == []
    assert history(visitor)["conversation"]["state"] == "active"
    assert [m["sender"] for m in owner.call("history", {"conversation_id": conversation_id})["messages"]] == ["visitor"]

    agent_post(owner, conversation_id, "I am the assigned agent.")
    assert visitor.wait_for("message", lambda m: m["sender"] == "agent")["text"] == "I am the assigned agent."


def test_close_notifies_the_visitor_and_the_next_message_opens_a_new_conversation(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, agent = open_agent(world, peers, languages=["en"])
    _, visitor = open_visitor(world, peers)
    old = post(visitor)["message"]["conversation_id"]
    assert agent.call("accept", {"conversation_id": old})["ok"]
    agent_post(agent, old, "Done, anything else?")

    closed = agent.call("close", {"conversation_id": old})
    assert closed["ok"] and closed["conversation"]["id"] == old and closed["conversation"]["state"] == "closed", closed
    seen = visitor.wait_for("conversation", lambda c: c["id"] == old and c["state"] == "closed")
    assert seen["queue_position"] is None
    assert agent.wait_for("conversation", lambda c: c["id"] == old and c["state"] == "closed")
    # With nothing open, history shows the closed conversation, so a reloaded widget still shows it.
    after_close = history(visitor)
    assert after_close["conversation"]["id"] == old and after_close["conversation"]["state"] == "closed"
    assert after_close["messages"][-1]["event"] == "conversation_closed"
    assert agent.call("queue")["load"] == 0
    assert code(agent.call("close", {"conversation_id": old})) == "closed"
    assert code(agent.call("message", {"conversation_id": old, "client_id": cid(), "text": "One more thing"})) == "forbidden"
    old_messages = agent.call("history", {"conversation_id": old})["messages"]
    assert [m["sender"] for m in old_messages] == ["visitor", "agent", "system"]
    # The closing system message carries the stable key (as its text, or as `event` beside a localized text).
    assert "conversation_closed" in (old_messages[-1].get("event"), old_messages[-1]["text"]), old_messages[-1]

    new = post(visitor, ENGLISH_2)["message"]["conversation_id"]
    assert new != old
    now = history(visitor)
    assert now["conversation"]["id"] == new and now["conversation"]["state"] == "queued"
    assert [m["text"] for m in now["messages"]] == [ENGLISH_2]
    assert visitor.wait_for("conversation", lambda c: c["id"] == new and c["state"] == "queued")
    assert new in ids(agent.call("queue"))


def test_an_admin_may_close_a_conversation_it_does_not_own(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, agent = open_agent(world, peers, languages=["en"])
    admin = Peer(world.url, "/agent").connect({"token": world.admin.token})
    peers.append(admin)
    _, waiting = open_visitor(world, peers)
    _, served = open_visitor(world, peers)
    waiting_id = post(waiting)["message"]["conversation_id"]
    served_id = post(served, ENGLISH_2)["message"]["conversation_id"]
    assert agent.call("accept", {"conversation_id": served_id})["ok"]

    assert admin.call("history", {"conversation_id": served_id})["ok"]
    for conversation_id, visitor in ((waiting_id, waiting), (served_id, served)):
        closed = admin.call("close", {"conversation_id": conversation_id})
        assert closed["ok"] and closed["conversation"]["state"] == "closed", closed
        assert visitor.wait_for("conversation", lambda c, i=conversation_id: c["id"] == i and c["state"] == "closed")
    assert waiting_id not in ids(agent.call("queue"))
    assert agent.wait_for("conversation", lambda c: c["id"] == served_id and c["state"] == "closed")
    assert agent.call("queue")["load"] == 0


# --- language stability ---------------------------------------------------------------------------------------------


def test_a_german_conversation_stays_german_after_neutral_messages(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, german_agent = open_agent(world, peers, languages=["de"])
    _, english_agent = open_agent(world, peers, languages=["en"])
    _, visitor = open_visitor(world, peers)
    conversation_id = post(visitor, GERMAN)["message"]["conversation_id"]

    def check(after: str) -> None:
        conversation = history(visitor)["conversation"]
        assert conversation["language"] == "de" and conversation["state"] == "queued", (after, conversation)
        entry = [c for c in german_agent.call("queue")["conversations"] if c["id"] == conversation_id]
        assert entry and entry[0]["language"] == "de" and entry[0]["queue_language"] == "de", (after, entry)
        assert conversation_id not in ids(english_agent.call("queue")), after

    check("the first message")
    for text in ("thanks", "ok", "Thanks!", "ok thx", "👍", "🙂🙂", "https://example.com/rechnung?id=2024-118",
                 "support@example.com", "?", "...", "12345", "thank you", "OK"):
        post(visitor, text)
        check(text)
    # The visitor never saw its conversation change language.
    assert {c["language"] for c in events(visitor, "conversation", lambda c: c["id"] == conversation_id)} == {"de"}

    assert german_agent.call("accept", {"conversation_id": conversation_id})["ok"]
    for text in ("thanks", "ok", "👍"):
        post(visitor, text)
    conversation = german_agent.call("history", {"conversation_id": conversation_id})["conversation"]
    assert conversation["language"] == "de" and conversation["queue_language"] == "de"


def test_an_undetermined_conversation_waits_for_english_agents_until_a_real_message(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, german_agent = open_agent(world, peers, languages=["de"])
    _, english_agent = open_agent(world, peers, languages=["en"])
    _, visitor = open_visitor(world, peers)
    conversation_id = post(visitor, "ok")["message"]["conversation_id"]
    conversation = history(visitor)["conversation"]
    assert conversation["state"] == "queued" and conversation["language"] == "und", conversation
    assert conversation_id in ids(english_agent.call("queue"))
    assert conversation_id not in ids(german_agent.call("queue"))

    post(visitor, GERMAN)
    conversation = visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["language"] == "de")
    assert conversation["state"] == "queued"
    assert conversation_id in ids(german_agent.call("queue"))
    assert conversation_id not in ids(english_agent.call("queue"))


# --- the AI agent --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language,first,second", [("ja", JAPANESE, JAPANESE_2), ("pl", POLISH, POLISH_2),
                                                    ("sw", SWAHILI, SWAHILI_2)], ids=["ja", "pl", "sw"])
def test_an_unsupported_language_is_served_by_the_ai_with_one_acknowledgement(world, peers: list[Peer], language: str,
                                                                                first: str, second: str) -> None:
    set_panel(world, ["en", "de", "es"])
    _, english_agent = open_agent(world, peers, languages=["en", "de", "es"])
    _, visitor = open_visitor(world, peers)
    conversation_id = post(visitor, first)["message"]["conversation_id"]

    conversation = visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["state"] == "ai")
    assert conversation["language"] == language and conversation["priority"] == "ai", conversation
    assert conversation["queue_position"] is None and conversation["agent"] is None
    reply = visitor.wait_for("message", lambda m: m["sender"] == "ai")
    expected = ACKNOWLEDGEMENTS.get(language, ACKNOWLEDGEMENTS["en"])
    assert reply["text"] == expected, (language, reply["text"])
    assert reply["conversation_id"] == conversation_id

    for text in (second, "ok", first, "👍"):
        post(visitor, text)
    time.sleep(0.6)  # give further AI turns, if any, time to land
    messages = history(visitor)["messages"]
    assert [m["sender"] for m in messages].count("ai") == 1, messages
    assert len(events(visitor, "message", lambda m: m["sender"] == "ai")) == 1
    # Without a model (these servers have none) the AI agent may hand the conversation to humans right after
    # its acknowledgement; either way it stays at priority `ai`, and if queued, for English speakers only.
    conversation = history(visitor)["conversation"]
    assert conversation["priority"] == "ai" and conversation["language"] == language, conversation
    assert conversation["state"] in {"ai", "queued"}, conversation
    queue = english_agent.call("queue")
    if conversation["state"] == "ai":
        assert conversation_id not in ids(queue)
    else:
        entry = next(c for c in queue["conversations"] if c["id"] == conversation_id)
        assert entry["queue_language"] == "en" and entry["priority"] == "ai", entry


def test_rapid_messages_in_an_unsupported_language_get_one_acknowledgement(world, peers: list[Peer]) -> None:
    """Several messages before the AI's first turn ran: the acknowledgement is still sent once."""
    set_panel(world, ["en", "de", "es"])
    for _ in range(2):
        _, visitor = open_visitor(world, peers)
        results = race(lambda: visitor.call("message", {"client_id": cid(), "text": JAPANESE}),
                       lambda: visitor.call("message", {"client_id": cid(), "text": JAPANESE_2}))
        assert all(r["ok"] for r in results), results
        post(visitor, JAPANESE)
        visitor.wait_for("message", lambda m: m["sender"] == "ai")
        time.sleep(0.5)
        messages = history(visitor)["messages"]
        assert [m["sender"] for m in messages].count("ai") == 1, messages
        assert [m["sender"] for m in messages].count("visitor") == 3, messages


def test_request_human_moves_an_ai_conversation_to_the_bottom_of_the_english_queue(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, english_agent = open_agent(world, peers, languages=["en"], capacity=5)
    _, german_agent = open_agent(world, peers, languages=["de"])
    _, japanese = open_visitor(world, peers)
    ai_id = post(japanese, JAPANESE)["message"]["conversation_id"]
    japanese.wait_for("conversation", lambda c: c["id"] == ai_id and c["state"] == "ai")
    japanese.wait_for("message", lambda m: m["sender"] == "ai")

    handed = japanese.call("request_human", {})
    assert handed["ok"], handed
    conversation = handed["conversation"]
    assert conversation["id"] == ai_id and conversation["state"] == "queued" and conversation["priority"] == "ai"
    assert conversation["language"] == "ja" and isinstance(conversation["queue_position"], int)
    assert japanese.wait_for("conversation", lambda c: c["id"] == ai_id and c["state"] == "queued")

    # A standard conversation that arrives later still goes ahead of it.
    _, english = open_visitor(world, peers)
    standard_id = post(english, ENGLISH)["message"]["conversation_id"]
    queue = english_agent.call("queue")
    assert mine(queue, [ai_id, standard_id]) == [standard_id, ai_id], queue
    entry = next(c for c in queue["conversations"] if c["id"] == ai_id)
    assert entry["priority"] == "ai" and entry["queue_language"] == "en" and entry["language"] == "ja", entry
    assert all(c["priority"] == "ai" for c in queue["conversations"][ids(queue).index(ai_id):]), queue
    pushed = english_agent.latest("queue", lambda q: set(mine(q, [ai_id, standard_id])) == {ai_id, standard_id})
    assert mine(pushed, [ai_id, standard_id]) == [standard_id, ai_id]

    # A German-only agent neither sees nor may take it.
    assert ai_id not in ids(german_agent.call("queue"))
    assert code(german_agent.call("accept", {"conversation_id": ai_id})) == "forbidden"

    # More Japanese never sends it back to the AI, and asking again changes nothing.
    post(japanese, JAPANESE_2)
    again = japanese.call("request_human", {})
    assert again["ok"] and again["conversation"]["state"] == "queued" and again["conversation"]["priority"] == "ai", again
    time.sleep(0.5)
    assert [m["sender"] for m in history(japanese)["messages"]].count("ai") == 1
    assert mine(english_agent.call("queue"), [ai_id, standard_id]) == [standard_id, ai_id]

    accepted = english_agent.call("accept", {"conversation_id": ai_id})
    assert accepted["ok"] and accepted["conversation"]["queue_language"] == "en", accepted
    assert japanese.wait_for("conversation", lambda c: c["id"] == ai_id and c["state"] == "active")


def test_request_human_without_an_open_conversation(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, visitor = open_visitor(world, peers)
    refused = visitor.call("request_human", {})
    assert code(refused) == "no_conversation", refused
    assert code(visitor.call("request_human")) == "no_conversation"
    assert history(visitor)["conversation"] is None

    # A queued (human) conversation is returned as is.
    _, agent = open_agent(world, peers, languages=["en"])
    conversation_id = post(visitor)["message"]["conversation_id"]
    same = visitor.call("request_human", {})
    assert same["ok"] and same["conversation"]["state"] == "queued" and same["conversation"]["priority"] == "standard", same
    # After close there is nothing to hand over again.
    assert agent.call("accept", {"conversation_id": conversation_id})["ok"]
    assert agent.call("close", {"conversation_id": conversation_id})["ok"]
    assert code(visitor.call("request_human", {})) == "no_conversation"


# --- queue positions and tabs ----------------------------------------------------------------------------------------


def test_queue_position_counts_from_one_and_moves_up(world, peers: list[Peer]) -> None:
    """Uses the `projects` team, which no other test in this module touches, so positions are exact."""
    set_panel(world, ["en", "de", "es"])
    _, first = open_visitor(world, peers)
    first_id = post(first, ENGLISH, team="projects")["message"]["conversation_id"]
    assert first.wait_for("conversation", lambda c: c["id"] == first_id and c["state"] == "queued")["queue_position"] == 1

    _, second = open_visitor(world, peers)
    ack = post(second, ENGLISH_2, team="projects")
    second_id = ack["message"]["conversation_id"]
    assert second.wait_for("conversation", lambda c: c["id"] == second_id and c["state"] == "queued")["queue_position"] == 2
    assert history(first)["conversation"]["queue_position"] == 1
    assert history(second)["conversation"]["queue_position"] == 2

    # A subscribed client arriving later goes first; the others move down.
    _, subscribed = open_visitor(world, peers, subscribed=True)
    subscribed_id = post(subscribed, "Hello, our project deadline moved, can we talk today?", team="projects")["message"]["conversation_id"]
    assert subscribed.wait_for("conversation", lambda c: c["id"] == subscribed_id and c["state"] == "queued")["queue_position"] == 1
    assert first.wait_for("conversation", lambda c: c["id"] == first_id and c["queue_position"] == 2)
    assert second.wait_for("conversation", lambda c: c["id"] == second_id and c["queue_position"] == 3)

    _, agent = open_agent(world, peers, languages=["en"], teams=["projects"], capacity=5)
    assert mine(agent.call("queue"), [first_id, second_id, subscribed_id]) == [subscribed_id, first_id, second_id]
    assert agent.call("accept", {"conversation_id": subscribed_id})["ok"]
    assert agent.call("accept", {"conversation_id": first_id})["ok"]
    moved = second.wait_for("conversation", lambda c: c["id"] == second_id and c["queue_position"] == 1)
    assert moved["state"] == "queued"
    active = first.wait_for("conversation", lambda c: c["id"] == first_id and c["state"] == "active")
    assert active["queue_position"] is None and active["agent"]["id"] is not None
    assert history(second)["conversation"]["queue_position"] == 1


def test_a_visitor_with_two_tabs_receives_everything_on_both(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, agent = open_agent(world, peers, languages=["en"])
    client, tab1 = open_visitor(world, peers)
    _, tab2 = open_visitor(world, peers, client=client)

    conversation_id = post(tab1, ENGLISH, client_id="from-tab-1")["message"]["conversation_id"]
    for tab in (tab1, tab2):
        assert tab.wait_for("message", lambda m: m["client_id"] == "from-tab-1")["conversation_id"] == conversation_id
        assert tab.wait_for("conversation", lambda c: c["id"] == conversation_id and c["state"] == "queued")

    assert agent.call("accept", {"conversation_id": conversation_id})["ok"]
    for tab in (tab1, tab2):
        assert tab.wait_for("conversation", lambda c: c["id"] == conversation_id and c["state"] == "active")
    agent_post(agent, conversation_id, "Hello from the agent.", client_id="agent-hello")
    for tab in (tab1, tab2):
        got = tab.wait_for("message", lambda m: m["client_id"] == "agent-hello")
        assert got["text"] == "Hello from the agent." and got["sender"] == "agent"

    # The second tab writes too, and a third tab opened later is told about the conversation at once.
    post(tab2, "Thanks, I am writing from my other tab now.", client_id="from-tab-2")
    assert tab1.wait_for("message", lambda m: m["client_id"] == "from-tab-2")
    assert agent.wait_for("message", lambda m: m["client_id"] == "from-tab-2")
    _, tab3 = open_visitor(world, peers, client=client)
    assert tab3.wait_for("conversation", lambda c: c["id"] == conversation_id)["state"] == "active"
    assert [m["client_id"] for m in history(tab3)["messages"]] == ["from-tab-1", "agent-hello", "from-tab-2"]

    # Closing a tab leaves the others connected and served.
    tab1.disconnect()
    agent_post(agent, conversation_id, "Still here?", client_id="agent-still")
    assert tab2.wait_for("message", lambda m: m["client_id"] == "agent-still")
    assert tab3.wait_for("message", lambda m: m["client_id"] == "agent-still")


def test_history_after_id_returns_exactly_what_was_missed(world, peers) -> None:
    world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "de", "es"]})
    client = world.client()
    visitor = world.visitor(client)
    peers.append(visitor)
    sent = [visitor.call("message", {"client_id": f"h{n}", "text": f"Hello, this is message number {n} about my invoice."})
            for n in range(4)]
    ids = [ack["message"]["id"] for ack in sent]
    whole = visitor.call("history")
    assert [m["id"] for m in whole["messages"]] == ids
    assert [m["id"] for m in visitor.call("history", {"after_id": ids[1]})["messages"]] == ids[2:]
    assert visitor.call("history", {"after_id": ids[-1]})["messages"] == []
    for bad in ("3", -1, True, 2**40):
        refused = visitor.call("history", {"after_id": bad})
        assert refused["ok"] is False and refused["error"]["code"] == "invalid", (bad, refused)


def test_every_message_has_the_next_sequence_number_and_history_resumes_after_seq(world, peers) -> None:
    world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "de", "es"]})
    agent = world.agent(languages=["en"])
    agent_peer = world.agent_peer(agent)
    visitor = world.visitor(world.client())
    peers += [agent_peer, visitor]
    first = visitor.call("message", {"client_id": "s1", "text": "Hello, my invoice is wrong, can you check it?"})["message"]
    conversation_id = first["conversation_id"]
    assert first["seq"] == 1
    assert agent_peer.call("accept", {"conversation_id": conversation_id})["ok"]
    assert agent_peer.call("message", {"conversation_id": conversation_id, "client_id": "a1", "text": "Sure."})["message"]["seq"] == 2
    assert visitor.call("message", {"client_id": "s2", "text": "It is invoice 118."})["message"]["seq"] == 3
    # A resent client_id keeps its number and takes none.
    assert visitor.call("message", {"client_id": "s1", "text": "Hello, my invoice is wrong, can you check it?"})["message"]["seq"] == 1
    assert agent_peer.call("close", {"conversation_id": conversation_id})["ok"]
    everything = visitor.call("history")["messages"]
    assert [m["seq"] for m in everything] == [1, 2, 3, 4] and everything[-1]["sender"] == "system"
    assert [m["seq"] for m in visitor.call("history", {"after_seq": 2})["messages"]] == [3, 4]
    assert [m["seq"] for m in agent_peer.call("history", {"conversation_id": conversation_id, "after_seq": 3})["messages"]] == [4]
    # A new conversation starts again at 1.
    assert visitor.call("message", {"client_id": "n1", "text": "Hello again, one more question."})["message"]["seq"] == 1
