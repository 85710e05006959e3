"""Language decisions route conversations, and sustained evidence re-routes them."""
from __future__ import annotations

import uuid

from ..support import Peer


def ids(queue: dict) -> list[int]:
    return [conversation["id"] for conversation in queue["conversations"]]


def say(peer: Peer, text: str) -> dict:
    ack = peer.call("message", {"client_id": str(uuid.uuid4()), "text": text})
    assert ack["ok"], ack
    return ack["message"]


def test_sustained_german_moves_a_waiting_conversation_to_the_german_queue(world, peers) -> None:
    world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "de", "es"]})
    english, german = world.agent(languages=["en"]), world.agent(languages=["de"])
    english_peer, german_peer = world.agent_peer(english), world.agent_peer(german)
    visitor = world.visitor(world.client(), languages=["en-US"])
    peers += [english_peer, german_peer, visitor]

    conversation_id = say(visitor, "Hello, I have a question about my last invoice please.")["conversation_id"]
    english_peer.wait_for("queue", lambda q: conversation_id in ids(q))
    assert conversation_id not in ids(german_peer.call("queue"))

    # One short German word is not enough; sustained German is.
    say(visitor, "danke")
    assert visitor.call("history")["conversation"]["language"] == "en"
    say(visitor, "Entschuldigung, ich schreibe lieber auf Deutsch. Die Rechnung ist doppelt abgebucht worden.")
    say(visitor, "Können Sie mir bitte helfen? Ich brauche eine Gutschrift für den zweiten Betrag.")

    moved = visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["language"] == "de")
    assert moved["state"] == "queued" and moved["queue_position"] >= 1
    german_peer.wait_for("queue", lambda q: conversation_id in ids(q))
    assert conversation_id not in ids(english_peer.call("queue"))

    # The agent sees why: the decision with its candidates and priors.
    accepted = german_peer.call("accept", {"conversation_id": conversation_id})
    assert accepted["ok"], accepted
    decision = accepted["conversation"]["language_decision"]
    assert accepted["conversation"]["language_explanation"] and decision
    assert decision["language"] == "de" and decision["candidates"][0]["language"] == "de"
    assert 0 < accepted["conversation"]["language_confidence"] <= 1


def test_sustained_unsupported_language_moves_a_waiting_conversation_to_the_ai(world, peers) -> None:
    world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "de", "es"]})
    english = world.agent(languages=["en"])
    english_peer = world.agent_peer(english)
    visitor = world.visitor(world.client(), panel_language="en")
    peers += [english_peer, visitor]

    conversation_id = say(visitor, "Hi, is anyone there? I need some help with my order.")["conversation_id"]
    english_peer.wait_for("queue", lambda q: conversation_id in ids(q))
    say(visitor, "すみません、日本語で書きます。注文した商品がまだ届いていません。")
    say(visitor, "追跡番号も表示されません。確認していただけますか？")

    rerouted = visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["state"] == "ai")
    assert rerouted["language"] == "ja" and rerouted["priority"] == "ai"
    assert visitor.wait_for("message", lambda m: m["sender"] == "ai")["conversation_id"] == conversation_id


def test_a_serbian_visitor_waits_for_the_panels_croatian_readers(world, peers) -> None:
    # The panel offers Hrvatski only; Serbian is the same readership, so no AI agent.
    world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "hr"]})
    serbian_speaker = world.agent(languages=["sr"])
    agent_peer = world.agent_peer(serbian_speaker)
    visitor = world.visitor(world.client(), languages=["sr-RS"], panel_language="hr")
    peers += [agent_peer, visitor]

    conversation_id = say(visitor, "Zdravo, ne mogu da platim račun karticom, šta da radim?")["conversation_id"]
    conversation = visitor.call("history")["conversation"]
    assert conversation["language"] in ("sr", "hr", "bs") and conversation["state"] == "queued"
    agent_peer.wait_for("queue", lambda q: conversation_id in ids(q))
    accepted = agent_peer.call("accept", {"conversation_id": conversation_id})
    assert accepted["ok"], accepted
    staffing = {row["code"]: row for row in world.admin.ok("GET", "/api/admin/overview")["languages"]}
    assert staffing["hr"]["agents"] >= 1
