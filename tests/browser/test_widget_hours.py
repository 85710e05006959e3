"""The widget tells office hours and honest waits, offers the AI while the team is closed, and sells Here and now."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from ..e2e.conftest import World
from ..fake_openai import FakeOpenAI, Reply
from .conftest import Net
from .widget import connect_agent, embed, hook, messages, screenshot, send

ALWAYS = {"timezone": "UTC", "always_open": True}


def closed_until_tomorrow() -> tuple[dict, datetime]:
    """A UTC calendar closed until 09:00 tomorrow."""
    opens_at = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return {"timezone": "UTC", "weekly": {},
            "special_openings": {opens_at.date().isoformat(): [["09:00", "17:00"]]}}, opens_at


def test_a_closed_team_says_when_it_opens_and_the_ai_helps_meanwhile(
        widget_world: World, net: Net, open_page, model: FakeOpenAI) -> None:
    calendar, opens_at = closed_until_tomorrow()
    widget_world.admin.ok("PUT", "/api/admin/calendars/support", calendar)
    try:
        client = widget_world.client()
        page = open_page()
        embed(page, net.host, server=net.link.url, identity=client["identity"])
        hook(page, "launcher").click()
        # Before the first message: when the team is back, on the visitor's clock (the browser's UTC here).
        hours = hook(page, "hours")
        expect(hours).to_contain_text("Our team is away until")
        expect(hours).to_contain_text(opens_at.strftime("%B ") + str(opens_at.day))
        expect(hours).to_contain_text("09:00")

        send(page, "My invoice shows the wrong company address")
        expect(messages(page, "system")).to_have_count(1)  # the team_closed notice, never a refusal
        status = hook(page, "status")
        expect(status).to_contain_text("You are number 1 in the queue")
        expect(status).to_contain_text("Next agent expected:")
        expect(hook(page, "here-and-now")).to_be_visible()

        model.script(Reply(text="Your invoice address can be changed under Billing, Company details."))
        ask = hook(page, "ask-ai")
        expect(ask).to_have_text("Chat with the AI assistant meanwhile")
        screenshot(page, "widget-closed-team")
        ask.click()
        expect(messages(page, "ai")).to_have_text(["Your invoice address can be changed under Billing, Company details."])
        expect(status).to_contain_text("An AI assistant is answering you")
        expect(ask).to_be_hidden()
        expect(hook(page, "here-and-now")).to_be_hidden()
    finally:
        widget_world.admin.ok("PUT", "/api/admin/calendars/support", ALWAYS)


def test_here_and_now_is_offered_with_its_price_and_a_specialist_joins_once_paid(
        widget_world: World, net: Net, open_page) -> None:
    widget_world.admin.ok("PUT", "/api/admin/calendars/technical", ALWAYS)
    client = widget_world.client()
    page = open_page()
    embed(page, net.host, server=net.link.url, identity=client["identity"])
    hook(page, "launcher").click()
    expect(hook(page, "hours")).to_have_text("Our team is online.")
    send(page, "The production server returns 502 since ten minutes")
    status = hook(page, "status")
    # Nobody who could take it is online: no invented minutes.
    expect(status).to_contain_text("No agent is online right now")
    expect(hook(page, "ask-ai")).to_be_hidden()  # the team is open: the AI is not offered instead

    urgent = hook(page, "here-and-now")
    expect(urgent).to_have_text("Urgent technical question? Get help here and now (€49.00)")
    urgent.click()
    expect(hook(page, "offer")).to_contain_text("for €49.00")
    hook(page, "pay").click()
    note = hook(page, "offer-note")
    # No specialist online: nothing is charged.
    expect(note).to_contain_text("nothing was charged")
    assert widget_world.admin.ok("GET", "/api/admin/payments?status=pending")["payments"] == []

    specialist = connect_agent(widget_world, widget_world.agent(languages=["en"], teams=["technical"]))
    try:
        urgent.click()
        hook(page, "pay").click()
        expect(note).to_contain_text("Payment requested")
        [payment] = [p for p in widget_world.admin.ok("GET", "/api/admin/payments?status=pending")["payments"]]
        widget_world.admin.ok("POST", f"/api/payments/{payment['id']}/paid", {})
        expect(status).to_contain_text("Your request is handled first.")
        expect(urgent).to_be_hidden()
        expect(note).to_be_hidden()
        specialist.wait_for("queue", lambda q: any(c["id"] == payment["conversation_id"] for c in q["conversations"]),
                            timeout=10)
        assert specialist.call("accept", {"conversation_id": payment["conversation_id"]})["ok"] is True
        expect(status).to_contain_text("You are chatting with")
    finally:
        specialist.disconnect()
