"""The agent console and the admin console in real Chromium against a real server.

An admin enables a language and creates an agent in /admin; the agent signs
in to /console, takes a queued conversation from a python-socketio visitor
whose name and message carry XSS payloads, chats with typing both ways,
transfers it, gets it back, and closes it. Screenshots of both consoles are
saved as artifacts (tests/browser/artifacts).
"""
from __future__ import annotations

import uuid
from typing import Any

import requests
from playwright.sync_api import Page, expect

from ..e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, World
from ..support import Api, Peer, identity_token, unique
from .conftest import Net
from .widget import connect_agent, embed, hook, screenshot

AGENT_PASSWORD = "agent-password-1"
XSS_NAME = '<img src=x onerror="window.__xss=1">Mallory'
XSS_TEXT = '<script>window.__xss=2</script><b onmouseover="window.__xss=3">Hello</b>, my invoice is missing.'


def sign_in(page: Page, base_url: str, email: str, password: str, *, next_page: str = "/console") -> None:
    page.goto(f"{base_url}{next_page}")
    expect(page.locator("#login-form")).to_be_visible()
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#login-submit").click()


def visitor(world: World, client: dict[str, Any]) -> Peer:
    peer = Peer(world.url, "/visitor")
    peer.client.eio.websocket_extra_options = {"suppress_origin": True}
    return peer.connect({"identity": client["identity"]})


def visitor_says(peer: Peer, text: str) -> dict[str, Any]:
    ack = peer.call("message", {"client_id": str(uuid.uuid4()), "text": text})
    assert ack["ok"], ack
    return ack["message"]


def xss_client(world: World) -> dict[str, Any]:
    body = world.admin.ok("POST", "/api/admin/clients", {"email": f"{unique('mallory')}@example.com",
                                                         "name": XSS_NAME}, status=201)
    body["identity"] = identity_token(body["personal_id"], body["email"])
    return body


def named_client(world: World, name: str, *, subscribed: bool = False) -> dict[str, Any]:
    body = world.admin.ok("POST", "/api/admin/clients", {
        "email": f"{unique(name.split()[0].lower())}@example.com", "name": name,
        "subscription_active_until": "2099-01-01T00:00:00Z" if subscribed else None}, status=201)
    body["identity"] = identity_token(body["personal_id"], body["email"])
    return body


def test_both_consoles_at_work(widget_world: World, open_page, peers: list[Peer]) -> None:
    """A working day's picture of both consoles, for the README (docs/console.png, docs/admin.png)."""
    agent = widget_world.admin.ok("POST", "/api/admin/agents", {
        "email": f"{unique('ana')}@example.com", "name": "Ana Lima", "password": AGENT_PASSWORD,
        "languages": ["en", "de"], "teams": ["support", "technical"]}, status=201)
    widget_world.admin.ok("POST", "/api/admin/canned", {"name": "refund", "team": None, "language": "en",
                                                        "text": "I have started the refund; it reaches you in 3 to 5 days."},
                          status=201)
    waiting = [("Sam Carter", True, "Hello, our checkout page returns a 502 error since your maintenance last night."),
               ("Greta Becker", False, "Guten Tag, ich finde meine Rechnung für Oktober nicht im Kundenbereich."),
               ("Priya Nair", False, "Can you move my domain example.org to my colleague's account?")]
    for name, subscribed, text in waiting:
        peer = visitor(widget_world, named_client(widget_world, name, subscribed=subscribed))
        peers.append(peer)
        visitor_says(peer, text)
    talking = named_client(widget_world, "Tom Weber", subscribed=True)
    tom = visitor(widget_world, talking)
    peers.append(tom)
    visitor_says(tom, "Hi! I was charged twice for my November invoice, could you check?")

    page = open_page(width=1440, height=860)
    sign_in(page, widget_world.url, agent["email"], AGENT_PASSWORD)
    page.locator("#queue li", has_text=talking["personal_id"]).get_by_role("button", name="Accept").click()
    page.locator("#text").fill("Hello Tom, I can see both payments. Let me look into it right away.")
    page.locator("#text").press("Enter")
    tom.wait_for("message", lambda m: m["sender"] == "agent")
    visitor_says(tom, "Thank you! It is invoice 2026-1142.")
    page.locator("#text").press_sequentially("/ref")
    page.locator("#text").press("Tab")
    page.locator("#text").press("Enter")
    tom.wait_for("message", lambda m: m["text"].startswith("I have started the refund"))
    tom.client.emit("typing", {"typing": True}, namespace="/visitor")
    expect(page.locator("#typing")).to_have_text("Tom Weber is typing…")
    expect(page.locator("#queue li")).to_have_count(3)
    # Best first: the subscriber, then the others by deadline.
    expect(page.locator("#queue li .client-name").first).to_have_text("Sam Carter")
    screenshot(page, "console")

    admin_page = open_page(width=1440, height=860)
    sign_in(admin_page, widget_world.url, ADMIN_EMAIL, ADMIN_PASSWORD, next_page="/admin")
    expect(admin_page.locator("#stat-queued")).to_have_text("3")
    expect(admin_page.locator("#stat-active")).to_have_text("1")
    expect(admin_page.locator("#agents-online")).to_contain_text(agent["name"])
    expect(admin_page.locator("#breaches")).to_contain_text("No deadline missed.")
    expect(admin_page.locator("#refunds")).to_contain_text("No refund due.")
    screenshot(admin_page, "admin")


def test_an_admin_enables_a_language_and_the_widget_offers_it(widget_world: World, net: Net, open_page) -> None:
    page = open_page()
    sign_in(page, widget_world.url, ADMIN_EMAIL, ADMIN_PASSWORD, next_page="/admin")
    page.locator(".sidenav a", has_text="Panel languages").click()
    rows = page.locator("#language-rows tr")
    expect(rows).to_have_count(3)
    # English is always offered: no Remove button.
    expect(page.locator('#language-rows tr[data-code="en"]')).to_contain_text("Always offered")
    expect(page.locator('#language-rows tr[data-code="en"] button')).to_have_count(0)

    page.locator("#language-select").select_option(label="French")
    page.locator("#language-add-submit").click()
    french = page.locator('#language-rows tr[data-code="fr"]')
    expect(french).to_contain_text("French")
    expect(french).to_contain_text("No agent speaks it")
    config = requests.get(widget_world.url + "/api/widget/config", timeout=5).json()
    assert [language["code"] for language in config["languages"]] == ["en", "de", "es", "fr"]

    # The widget on a host page offers it, by its own name.
    widget = open_page()
    embed(widget, net.host, server=net.link.url, identity=widget_world.client()["identity"])
    hook(widget, "launcher").click()
    expect(hook(widget, "language-option", lang="fr")).to_have_text("Français")

    # Written to the audit log, which the console shows.
    page.locator(".sidenav a", has_text="Audit log").click()
    expect(page.locator('#audit-rows tr[data-action="languages.set"]').first).to_contain_text("added: [\"fr\"]")

    page.locator(".sidenav a", has_text="Panel languages").click()
    french.get_by_role("button", name="Remove").click()
    expect(french).to_have_count(0)
    config = requests.get(widget_world.url + "/api/widget/config", timeout=5).json()
    assert [language["code"] for language in config["languages"]] == ["en", "de", "es"]


def test_an_admin_creates_an_agent_who_runs_a_conversation_in_the_console(
        widget_world: World, open_page, peers: list[Peer]) -> None:
    # The admin creates the agent in the admin console.
    admin_page = open_page(width=1440, height=860)
    sign_in(admin_page, widget_world.url, ADMIN_EMAIL, ADMIN_PASSWORD, next_page="/admin")
    admin_page.locator(".sidenav a", has_text="Agents").click()
    admin_page.locator("#agent-create-box summary").click()
    email = f"{unique('nora')}@example.com"
    admin_page.locator("#new-agent-name").fill("Nora Nilsson")
    admin_page.locator("#new-agent-email").fill(email)
    admin_page.locator("#new-agent-password").fill(AGENT_PASSWORD)
    admin_page.locator("#new-agent-languages").select_option(["en", "de"])
    admin_page.locator('#new-agent-teams input[value="technical"]').check()
    admin_page.locator("#agent-create-submit").click()
    row = admin_page.locator(f'#agent-rows tr[data-email="{email}"]')
    expect(row).to_contain_text("Nora Nilsson")
    expect(row).to_contain_text("English, German")
    expect(row).to_contain_text("Support, Technical")

    # A canned response for the support team, in English.
    admin_page.locator(".sidenav a", has_text="Canned responses").click()
    admin_page.locator("#canned-name").fill("invoice")
    admin_page.locator("#canned-team").select_option("support")
    admin_page.locator("#canned-language").select_option("en")
    admin_page.locator("#canned-text").fill("You find every invoice under Billing, then Invoices.")
    admin_page.locator("#canned-submit").click()
    expect(admin_page.locator('#canned-rows tr[data-name="invoice"]')).to_contain_text("Billing, then Invoices")

    # A visitor whose name and message are XSS payloads waits in the queue.
    client = xss_client(widget_world)
    peer = visitor(widget_world, client)
    peers.append(peer)
    visitor_says(peer, XSS_TEXT)

    page = open_page(width=1440, height=860)
    sign_in(page, widget_world.url, email, AGENT_PASSWORD)
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    expect(page.locator("#who")).to_have_text("Nora Nilsson")
    entry = page.locator("#queue li", has_text=client["personal_id"])
    expect(entry.locator(".client-name")).to_have_text(XSS_NAME)
    expect(entry).to_contain_text("English")
    expect(entry).to_contain_text("Standard")
    expect(entry).to_contain_text("No subscription")
    expect(entry).to_contain_text("Support")
    expect(entry.locator(".preview")).to_have_text(XSS_TEXT)
    expect(entry.locator(".sla")).to_contain_text("Reply due in")

    entry.get_by_role("button", name="Accept").click()
    expect(page.locator("#chat-title")).to_have_text(XSS_NAME)
    expect(page.locator('#log .msg[data-sender="visitor"] .text')).to_have_text([XSS_TEXT])
    expect(page.locator("#language-decision")).to_contain_text("English")
    expect(page.locator("#mine li")).to_have_count(1)
    # Shown as text, never run: no element came out of the payloads.
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("#queue img, #log img, #log script, #log b, #chat-title img, #mine img").count() == 0

    # Typing both ways.
    peer.client.emit("typing", {"typing": True}, namespace="/visitor")
    expect(page.locator("#typing")).to_have_text(f"{XSS_NAME} is typing…")
    page.locator("#text").press_sequentially("/inv")
    expect(page.locator('#canned-menu li[data-name="invoice"]')).to_be_visible()
    peer.wait_for("typing", lambda data: data["sender"] == "agent" and data["typing"] is True)
    page.locator("#text").press("Tab")
    expect(page.locator("#text")).to_have_value("You find every invoice under Billing, then Invoices.")
    page.locator("#text").press("Enter")
    peer.wait_for("message", lambda m: m["sender"] == "agent" and m["text"].startswith("You find every invoice"))
    answer = visitor_says(peer, "Thanks! And can I get it as a PDF?")
    expect(page.locator('#log .msg[data-sender="visitor"] .text')).to_have_text([XSS_TEXT, answer["text"]])
    expect(page.locator("#typing")).to_have_text("")
    screenshot(page, "console-xss")

    # Transfer to a colleague; the conversation leaves this console.
    colleague = widget_world.agent(languages=["en"])
    colleague_peer = connect_agent(widget_world, colleague)
    peers.append(colleague_peer)
    page.locator("#transfer-open").click()
    page.locator("#transfer-agent").select_option(str(colleague["id"]))
    page.locator("#transfer-submit").click()
    expect(page.locator("#mine li")).to_have_count(0)
    moved = colleague_peer.wait_for("conversation", lambda c: c["agent"] and c["agent"]["id"] == colleague["id"])
    peer.wait_for("conversation", lambda c: c["agent"] and c["agent"]["id"] == colleague["id"])

    # The colleague hands it back; it reappears, with its history, and Nora closes it.
    ack = colleague_peer.call("transfer", {"conversation_id": moved["id"], "to_agent_id": row_agent_id(widget_world, email)})
    assert ack["ok"], ack
    expect(page.locator("#mine li")).to_have_count(1)
    page.locator("#mine li").click()
    expect(page.locator('#log .msg[data-sender="visitor"] .text')).to_have_text([XSS_TEXT, answer["text"]])
    page.locator("#close").click()
    expect(page.locator("#mine li")).to_have_count(0)
    peer.wait_for("conversation", lambda c: c["state"] == "closed")

    # The admin console's overview and audit log show what happened.
    admin_page.locator(".sidenav a", has_text="Overview").click()
    expect(admin_page.locator("#agents-online")).to_contain_text("Nora Nilsson")
    admin_page.locator(".sidenav a", has_text="Audit log").click()
    expect(admin_page.locator('#audit-rows tr[data-action="agent.create"]', has_text=email)).to_have_count(1)
    expect(admin_page.locator('#audit-rows tr[data-action="canned.create"]', has_text="invoice")).to_have_count(1)


def row_agent_id(world: World, email: str) -> int:
    [agent] = [a for a in world.admin.ok("GET", "/api/admin/agents")["agents"] if a["email"] == email]
    return agent["id"]


def test_the_console_resyncs_after_its_connection_drops(
        widget_world: World, net: Net, open_page, peers: list[Peer]) -> None:
    agent = widget_world.agent(languages=["en"])
    first = widget_world.client()
    peer = visitor(widget_world, first)
    peers.append(peer)
    visitor_says(peer, "Hello, the backup job failed again tonight.")
    page = open_page()
    # Through the link, which the test can cut.
    sign_in(page, net.link.url, agent["email"], AGENT_PASSWORD)
    page.locator("#queue li", has_text=first["personal_id"]).get_by_role("button", name="Accept").click()
    expect(page.locator("#log .msg")).to_have_count(1)

    net.link.cut()
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    missed = visitor_says(peer, "It says: disk quota exceeded.")
    second = widget_world.client()
    other = visitor(widget_world, second)
    peers.append(other)
    visitor_says(other, "Hi, can you reset my two-factor authentication?")
    net.link.restore()

    # No reload: the reconnect brings both the missed message and the new queue entry.
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=20_000)
    expect(page.locator('#log .msg[data-sender="visitor"] .text').last).to_have_text(missed["text"])
    expect(page.locator("#queue li", has_text=second["personal_id"])).to_be_visible()

    # A server restart: the console signs its socket in again by itself and keeps working.
    widget_world.server.stop()
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    widget_world.server.start()
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=30_000)
    back = visitor(widget_world, first)  # the visitor's old connection died with the server
    peers.append(back)
    after = visitor_says(back, "Are you still there?")
    expect(page.locator('#log .msg[data-sender="visitor"] .text').last).to_have_text(after["text"])
    page.locator("#text").fill("Yes, still here: the server restarted for an update.")
    page.locator("#text").press("Enter")
    back.wait_for("message", lambda m: m["sender"] == "agent" and m["text"].startswith("Yes, still here"))


def test_state_changing_requests_without_the_csrf_token_are_refused(widget_world: World, open_page) -> None:
    page = open_page()
    sign_in(page, widget_world.url, ADMIN_EMAIL, ADMIN_PASSWORD, next_page="/admin")
    expect(page.locator("#stat-queued")).not_to_have_text("–")
    cookie = next(c for c in page.context.cookies() if c["name"] == "chatserver_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    body = {"email": f"{unique('csrf')}@example.com", "name": "Forged", "password": AGENT_PASSWORD}

    # The session cookie alone does not make an admin change.
    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        response = page.request.post(widget_world.url + "/api/admin/agents", data=body, headers=headers)
        assert response.status == 403 and response.json()["error"]["code"] == "csrf_failed", response.text()
    assert body["email"] not in str(widget_world.admin.ok("GET", "/api/admin/agents"))

    # A form post without its token is refused too, and changes nothing.
    page.evaluate("() => { const form = document.querySelector('form.logout');"
                  " form.querySelector('[name=csrf_token]').remove(); form.submit(); }")
    expect(page.locator("body")).to_contain_text("csrf_failed")
    page.goto(widget_world.url + "/admin")
    expect(page.locator("#stat-queued")).to_be_visible()

    # With the page's token it works.
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    response = page.request.post(widget_world.url + "/api/admin/agents", data=body, headers={"X-CSRF-Token": token})
    assert response.status == 201, response.text()

    # Behind TLS the cookie is Secure.
    login = requests.get(widget_world.url + "/console/login", headers={"X-Forwarded-Proto": "https"}, timeout=5)
    assert "Secure" in login.headers["Set-Cookie"] and "HttpOnly" in login.headers["Set-Cookie"]


def test_an_agent_is_refused_at_admin(widget_world: World, open_page) -> None:
    agent = widget_world.agent(languages=["en"])
    page = open_page()
    sign_in(page, widget_world.url, agent["email"], AGENT_PASSWORD, next_page="/admin")
    # Signed in, but sent to the agent console; /admin itself says no.
    expect(page).to_have_url(widget_world.url + "/console")
    expect(page.locator("nav.nav a", has_text="Admin")).to_have_count(0)
    response = page.goto(widget_world.url + "/admin")
    assert response.status == 403
    expect(page.locator("#forbidden")).to_contain_text("Admins only")
    api = page.request.get(widget_world.url + "/api/admin/agents")
    assert api.status == 403 and api.json()["error"]["code"] == "forbidden"

    # Signing out ends the session.
    page.goto(widget_world.url + "/console")
    page.locator("#logout").click()
    expect(page.locator("#login-form")).to_be_visible()
    assert page.request.get(widget_world.url + "/api/me").status == 401


def test_a_failed_sign_in_says_why_and_keeps_the_email(widget_world: World, open_page) -> None:
    agent = widget_world.agent(languages=["en"])
    page = open_page()
    sign_in(page, widget_world.url, agent["email"], "wrong-password-1")
    expect(page.locator("#login-error")).to_have_text("Wrong email or password.")
    expect(page.locator("#email")).to_have_value(agent["email"])
    Api(widget_world.url).login(agent["email"], AGENT_PASSWORD)  # not locked out by one failure
