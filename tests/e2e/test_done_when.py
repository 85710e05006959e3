"""The core issue's acceptance scenario, end to end, on a real server with real Socket.IO clients."""
from __future__ import annotations

import uuid

from ..support import Peer


def ids(queue: dict) -> list[int]:
    return [conversation["id"] for conversation in queue["conversations"]]


def test_routing_priority_ai_and_accept(world, peers: list[Peer]) -> None:
    admin = world.admin
    languages = admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "de", "es"]})["languages"]
    assert [language["code"] for language in languages] == ["en", "de", "es"]
    assert [item["code"] for item in admin.ok("GET", "/api/widget/config")["languages"]] == ["en", "de", "es"]

    en_de = world.agent(languages=["en", "de"])
    es = world.agent(languages=["es"])
    en_de_peer = world.agent_peer(en_de)
    es_peer = world.agent_peer(es)
    peers += [en_de_peer, es_peer]

    unsubscribed, subscribed = world.client(subscribed=False), world.client(subscribed=True)
    german, japanese = world.client(), world.client()

    def say(client: dict, text: str, **auth) -> tuple[Peer, dict]:
        peer = world.visitor(client, **auth)
        peers.append(peer)
        ack = peer.call("message", {"client_id": str(uuid.uuid4()), "text": text})
        assert ack["ok"], ack
        return peer, ack["message"]

    # The unsubscribed client writes first; the subscribed one still goes ahead.
    _, first = say(unsubscribed, "Hello, I cannot log in to my account since this morning.")
    _, second = say(subscribed, "Hi, my invoice for last month shows the wrong amount.")
    _, third = say(german, "Guten Tag, meine Rechnung ist leider falsch. Können Sie mir helfen?")
    japanese_peer, _ = say(japanese, "こんにちは、注文した商品がまだ届いていません。確認していただけますか？")

    # Without a model, the AI agent acknowledges the Japanese visitor and hands
    # the conversation to English speakers at the lowest priority, so that the
    # promised human answer within 24 hours comes.
    expected = [second["conversation_id"], first["conversation_id"], third["conversation_id"]]
    queue = en_de_peer.latest("queue", lambda q: len(q["conversations"]) == 4)
    assert ids(queue)[:3] == expected
    assert [c["priority"] for c in queue["conversations"]] == ["subscribed", "standard", "standard", "ai"]
    assert [c["language"] for c in queue["conversations"]] == ["en", "en", "de", "ja"]
    assert queue["conversations"][3]["queue_language"] == "en"
    assert queue["conversations"][0]["client"] == {"personal_id": subscribed["personal_id"], "name": subscribed["name"],
                                                  "subscribed": True}

    # The Spanish-only agent sees none of them.
    assert es_peer.latest("queue")["conversations"] == []
    assert ids(es_peer.call("queue")) == []

    # The Japanese visitor is served by the AI agent, at the lowest priority.
    ai_conversation = japanese_peer.wait_for("conversation", lambda c: c["state"] == "ai")
    assert ai_conversation["priority"] == "ai" and ai_conversation["language"] == "ja"
    ai_reply = japanese_peer.wait_for("message", lambda m: m["sender"] == "ai")
    assert "24" in ai_reply["text"] and "時間" in ai_reply["text"]  # the Japanese acknowledgement
    handed = japanese_peer.wait_for("conversation", lambda c: c["state"] == "queued")
    assert handed["priority"] == "ai" and handed["language"] == "ja"

    # Accepting: the en+de agent takes the subscribed conversation.
    accepted = en_de_peer.call("accept", {"conversation_id": second["conversation_id"]})
    assert accepted["ok"], accepted
    assert accepted["conversation"]["state"] == "active"

    # A second agent's accept is refused: taken (it no longer waits).
    other = world.agent(languages=["en"])
    other_peer = world.agent_peer(other)
    peers.append(other_peer)
    refused = other_peer.call("accept", {"conversation_id": second["conversation_id"]})
    assert refused == {"ok": False, "error": {"code": "taken", "message": refused["error"]["message"]}}
    # ...and an agent without the language is refused: forbidden.
    forbidden = es_peer.call("accept", {"conversation_id": third["conversation_id"]})
    assert forbidden["ok"] is False and forbidden["error"]["code"] == "forbidden"

    # Messages flow both ways in the accepted conversation.
    subscribed_peer = [p for p in peers if p.namespace == "/visitor"][1]
    assert subscribed_peer.wait_for("conversation", lambda c: c["state"] == "active")["agent"]["name"] == en_de["name"]
    reply = en_de_peer.call("message", {"conversation_id": second["conversation_id"], "client_id": "a-1",
                                        "text": "Hello! Let me check the invoice for you."})
    assert reply["ok"], reply
    got = subscribed_peer.wait_for("message", lambda m: m["sender"] == "agent")
    assert got["text"] == "Hello! Let me check the invoice for you." and got["agent"]["name"] == en_de["name"]
    answer = subscribed_peer.call("message", {"client_id": "v-2", "text": "Thank you, it is invoice 2024-118."})
    assert answer["ok"], answer
    heard = en_de_peer.wait_for("message", lambda m: m["sender"] == "visitor" and m["client_id"] == "v-2")
    assert heard["conversation_id"] == second["conversation_id"]

    # The accepted conversation left the queue; the others stay in order.
    remaining = ids(en_de_peer.latest("queue", lambda q: second["conversation_id"] not in ids(q)))
    assert remaining == expected[1:] + [ai_conversation["id"]]


def test_healthz_reports_database_and_redis(world) -> None:
    health = world.admin.ok("GET", "/healthz")
    assert health["status"] == "ok" and health["database"] == "ok"
    assert health["redis"] == ("ok" if world.server.stack.redis_url else "not_configured")


def test_metrics_count_connections_messages_and_the_queue(world, peers) -> None:
    world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "de", "es"]})
    visitor = world.visitor(world.client())
    peers.append(visitor)
    assert visitor.call("message", {"client_id": "metrics-1", "text": "Hello, I need help with my invoice please."})["ok"]
    assert visitor.call("no_such_event")["ok"] is False
    text = world.admin.request("GET", "/metrics").text

    def value(line_start: str) -> float:
        return float(next(line for line in text.splitlines() if line.startswith(line_start)).rsplit(" ", 1)[1])

    assert value('chatserver_connections{namespace="/visitor"}') >= 1
    assert value('chatserver_messages_total{sender="visitor"}') >= 1
    assert value('chatserver_queue_length{language="en",priority="standard"}') >= 1
    assert 'chatserver_queue_oldest_wait_seconds{language="en",priority="standard"}' in text
