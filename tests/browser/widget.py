"""Driving the widget through its stable test hooks (data-chat attributes), and its agent's side."""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from ..support import Peer
from .net import embed_page

ARTIFACTS = Path(__file__).parent / "artifacts"


def hook(page: Page, name: str, **attributes: str) -> Locator:
    """The element(s) with data-chat=name; Playwright's CSS reaches into the open shadow root."""
    extra = "".join(f'[data-{key}="{value}"]' for key, value in attributes.items())
    return page.locator(f'[data-chat="{name}"]{extra}')


def messages(page: Page, sender: str | None = None) -> Locator:
    return hook(page, "message", **({"sender": sender} if sender else {})).locator(".text")


def embed(page: Page, site: Any, *, server: str, identity: str | None) -> None:
    page.goto(site.page(embed_page(server=server, identity=identity)))
    expect(hook(page, "launcher")).to_be_visible()


def send(page: Page, text: str) -> None:
    hook(page, "input").fill(text)
    hook(page, "send").click()


def shadow(page: Page, script: str) -> Any:
    """Evaluate script with `root`, the widget's shadow root."""
    return page.evaluate(f"() => {{ const root = document.querySelector('chatserver-widget').shadowRoot; {script} }}")


def connect_agent(world: Any, agent: dict[str, Any]) -> Peer:
    """Connect an agent's python-socketio client.

    It sends no Origin header, like any client that is not a browser:
    websocket-client would send the server's own origin, which these servers'
    ALLOWED_ORIGINS do not list.
    """
    peer = Peer(world.url, "/agent")
    peer.client.eio.websocket_extra_options = {"suppress_origin": True}
    return peer.connect({"token": agent["token"]})


def accept(agent: Peer, client: dict[str, Any]) -> dict[str, Any]:
    """Wait until the client's conversation is in the agent's queue, then accept it."""
    def waiting(queue: dict[str, Any]) -> bool:
        return any(c["client"]["personal_id"] == client["personal_id"] for c in queue["conversations"])

    deadline = time.monotonic() + 10
    while True:
        queue = agent.call("queue")
        if waiting(queue) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    [entry] = [c for c in queue["conversations"] if c["client"]["personal_id"] == client["personal_id"]]
    ack = agent.call("accept", {"conversation_id": entry["id"]})
    assert ack["ok"], ack
    return ack["conversation"]


def agent_says(agent: Peer, conversation_id: int, text: str) -> dict[str, Any]:
    ack = agent.call("message", {"conversation_id": conversation_id, "client_id": str(uuid.uuid4()), "text": text})
    assert ack["ok"], ack
    return ack["message"]


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled")  # the panel rises in: show it arrived
    return path
