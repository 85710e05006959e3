"""A visitor without the host site's identity verifies in the widget: personal ID and email, then the
emailed code (read here from the admin outbox: this server has no SMTP), then chats; a new visitor
registers. Every text from the server lands as text."""
from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from ..e2e.conftest import World
from ..support import unique
from .conftest import Net
from .widget import accept, agent_says, connect_agent, embed, hook, messages, screenshot, send


def code_for(world: World, email: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mail = world.admin.ok("GET", f"/api/admin/outbox?to={email}")["mail"]
        if mail:
            assert mail[0]["status"] in ("held", "pending")
            return re.search(r"\b(\d{6})\b", mail[0]["body"]).group(1)
        time.sleep(0.1)
    raise AssertionError(f"no mail to {email}")


def test_a_visitor_verifies_with_personal_id_and_code_then_chats(widget_world: World, net: Net, open_page) -> None:
    client = widget_world.client()
    agent = widget_world.agent(languages=["en"])
    agent_peer = connect_agent(widget_world, agent)
    try:
        page = open_page()
        embed(page, net.host, server=net.link.url, identity=None)
        hook(page, "launcher").click()
        box = hook(page, "verify")
        expect(box).to_be_visible()
        expect(box).to_contain_text("verified clients only")
        expect(hook(page, "input")).to_be_hidden()  # no support before verification
        hook(page, "verify-personal-id").fill(client["personal_id"])
        hook(page, "verify-email").fill(client["email"])
        hook(page, "verify-submit").click()
        expect(hook(page, "verify-code")).to_be_visible()
        expect(box).to_contain_text("6-digit code")
        hook(page, "verify-code").fill("000000" if code_for(widget_world, client["email"]) != "000000" else "111111")
        hook(page, "verify-submit").click()
        expect(hook(page, "verify-error")).to_contain_text("not right")
        hook(page, "verify-code").fill(code_for(widget_world, client["email"]))
        screenshot(page, "widget-verify-code")
        hook(page, "verify-submit").click()
        expect(box).to_be_hidden()
        expect(hook(page, "input")).to_be_visible()
        send(page, "Hello, I verified myself. <b>Where</b> is my invoice?")
        conversation = accept(agent_peer, client)
        assert conversation["caution"]["reasons"] == ["recently_verified"]
        agent_says(agent_peer, conversation["id"], "Under Billing.")
        expect(messages(page, "agent")).to_have_text(["Under Billing."])
        expect(messages(page, "visitor")).to_have_text(["Hello, I verified myself. <b>Where</b> is my invoice?"])
        # A reload keeps the verified session: no second verification.
        page.reload()
        expect(messages(page, "agent")).to_have_text(["Under Billing."])
        expect(hook(page, "verify")).to_be_hidden()
    finally:
        agent_peer.disconnect()


def test_a_new_visitor_registers_in_the_widget(widget_world: World, net: Net, open_page) -> None:
    page = open_page()
    embed(page, net.host, server=net.link.url, identity=None)
    hook(page, "launcher").click()
    hook(page, "verify-switch").click()
    email = f"{unique('new')}@example.com"
    hook(page, "verify-email").fill(email)
    hook(page, "verify-name").fill("<img src=x onerror=alert(1)> Ada")
    hook(page, "verify-company").fill("Analytical Engines Ltd")
    hook(page, "verify-submit").click()
    expect(hook(page, "verify-code")).to_be_visible()
    hook(page, "verify-code").fill(code_for(widget_world, email))
    hook(page, "verify-submit").click()
    expect(hook(page, "input")).to_be_visible()
    clients = widget_world.admin.ok("GET", "/api/admin/clients")["clients"]
    created = next(c for c in clients if c["email"] == email)
    assert created["name"] == "<img src=x onerror=alert(1)> Ada" and created["email_verified"]
    # The change-email link starts the email-change flow from the account.
    hook(page, "change-email").click()
    new_email = f"{unique('moved')}@example.com"
    hook(page, "verify-new-email").fill(new_email)
    hook(page, "verify-submit").click()
    expect(hook(page, "verify-code")).to_be_visible()
    hook(page, "verify-code").fill(code_for(widget_world, new_email))
    hook(page, "verify-submit").click()
    expect(hook(page, "offer-note")).to_contain_text("An agent will approve")
    waiting = widget_world.admin.ok("GET", "/api/email-changes")["email_changes"]
    assert any(c["new_email"] == new_email and c["personal_id"] == created["personal_id"] for c in waiting)
