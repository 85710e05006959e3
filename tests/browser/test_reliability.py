"""The widget loses nothing and shows nothing twice when the network drops or the server restarts."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from ..e2e.conftest import World
from ..support import Peer
from .conftest import Net
from .widget import accept, agent_says, connect_agent, embed, hook, messages, send

OFFLINE = "Connection lost. Reconnecting… Your messages will be sent once the connection is back."


def start_conversation(world: World, net: Net, page: Page, peers: list[Peer]) -> tuple[dict, Peer, int]:
    agent = world.agent(languages=["en"])
    agent_peer = connect_agent(world, agent)
    peers.append(agent_peer)
    client = world.client()
    embed(page, net.host, server=net.link.url, identity=client["identity"])
    hook(page, "launcher").click()
    send(page, "Hello, my backup job has failed every night since Monday.")
    expect(hook(page, "message", sender="visitor")).to_have_attribute("data-state", "sent")
    conversation = accept(agent_peer, client)
    expect(hook(page, "status")).to_contain_text("You are chatting with")
    return agent, agent_peer, conversation["id"]


def server_texts(agent_peer: Peer, conversation_id: int) -> list[tuple[str, str]]:
    history = agent_peer.call("history", {"conversation_id": conversation_id})
    return [(m["sender"], m["text"]) for m in history["messages"]]


def test_a_send_whose_ack_is_lost_in_a_network_drop_arrives_once(
        widget_world: World, net: Net, open_page, peers: list[Peer]) -> None:
    page = open_page()
    _, agent_peer, conversation_id = start_conversation(widget_world, net, page, peers)
    first = "Hello, my backup job has failed every night since Monday."

    # The message reaches the server, but neither its ack nor its echo comes back.
    net.link.hold()
    lost_ack = "It says: disk quota exceeded."
    send(page, lost_ack)
    agent_peer.wait_for("message", lambda m: m["text"] == lost_ack)
    expect(hook(page, "message", sender="visitor").last).to_have_attribute("data-state", "sending")

    # The network goes down: the agent answers and the visitor writes, each unheard.
    net.link.cut()
    expect(hook(page, "panel").get_by_role("alert")).to_have_text(OFFLINE)
    reply = "Thanks, I have raised your quota; tonight's backup should run."
    agent_says(agent_peer, conversation_id, reply)
    offline = "Do I need to restart anything?"
    send(page, offline)
    expect(hook(page, "message", sender="visitor").last).to_have_attribute("data-state", "sending")

    # Back: the widget resyncs with history {after_id} and resends its outbox.
    net.link.restore()
    expect(hook(page, "panel").get_by_role("alert")).to_be_hidden()
    expect(messages(page, "visitor")).to_have_text([first, lost_ack, offline])
    expect(messages(page, "agent")).to_have_text([reply])
    expect(page.locator('[data-chat="message"][data-state="sending"]')).to_have_count(0)
    expect(messages(page)).to_have_text([first, lost_ack, reply, offline])
    assert server_texts(agent_peer, conversation_id) == [
        ("visitor", first), ("visitor", lost_ack), ("agent", reply), ("visitor", offline)]

    # A reload resyncs the whole conversation, once.
    page.reload()
    hook(page, "launcher").wait_for()
    expect(hook(page, "panel")).to_be_visible()  # it was open: it opens again
    expect(messages(page)).to_have_text([first, lost_ack, reply, offline])


def test_messages_written_during_a_server_restart_are_delivered_after_it(
        widget_world: World, net: Net, open_page, peers: list[Peer]) -> None:
    page = open_page()
    agent, agent_peer, conversation_id = start_conversation(widget_world, net, page, peers)
    first = "Hello, my backup job has failed every night since Monday."

    widget_world.server.stop()
    expect(hook(page, "panel").get_by_role("alert")).to_have_text(OFFLINE)
    during = "Are you still there? The page says it lost the connection."
    send(page, during)
    expect(hook(page, "message", sender="visitor").last).to_have_attribute("data-state", "sending")
    # A reload while the server is down keeps the unsent message in the outbox.
    page.reload()
    expect(hook(page, "message", sender="visitor").last).to_have_attribute("data-state", "sending")
    expect(messages(page, "visitor")).to_have_text([during])

    widget_world.server.start()
    expect(hook(page, "message", sender="visitor").last).to_have_attribute("data-state", "sent", timeout=20_000)
    expect(messages(page, "visitor")).to_have_text([first, during])
    agent_peer = connect_agent(widget_world, agent)  # its old connection died with the server
    peers.append(agent_peer)
    reply = "Yes, we are here: the server restarted for an update."
    agent_says(agent_peer, conversation_id, reply)
    expect(messages(page, "agent")).to_have_text([reply])
    expect(hook(page, "panel").get_by_role("alert")).to_be_hidden()
    assert server_texts(agent_peer, conversation_id) == [("visitor", first), ("visitor", during), ("agent", reply)]
