"""After the close, the visitor rates the conversation in the widget; the agent and the reports see it."""
from __future__ import annotations

from playwright.sync_api import expect

from ..e2e.conftest import World
from .conftest import Net
from .widget import accept, agent_says, connect_agent, embed, hook, screenshot, send


def test_the_visitor_rates_a_closed_conversation_once(widget_world: World, net: Net, open_page) -> None:
    client = widget_world.client()
    agent = widget_world.agent(languages=["en"])
    agent_peer = connect_agent(widget_world, agent)
    try:
        page = open_page()
        embed(page, net.host, server=net.link.url, identity=client["identity"])
        hook(page, "launcher").click()
        send(page, "How do I add a second user to my account?")
        conversation = accept(agent_peer, client)
        agent_says(agent_peer, conversation["id"], "Under Settings, Team, Invite.")
        rating = hook(page, "rating")
        expect(rating).to_be_hidden()  # not while the conversation is open
        assert agent_peer.call("close", {"conversation_id": conversation["id"]})["ok"] is True

        expect(rating).to_be_visible()
        expect(rating).to_contain_text("How was this conversation?")
        send_button = hook(page, "rate-send")
        expect(send_button).to_be_disabled()  # nothing picked yet
        hook(page, "star", score="4").click()
        expect(hook(page, "star", score="4")).to_have_attribute("aria-checked", "true")
        hook(page, "rate-comment").fill("Quick and clear <b>thanks</b>")
        screenshot(page, "widget-rating")
        send_button.click()
        expect(hook(page, "rate-note")).to_have_text("Thank you for your feedback!")
        heard = agent_peer.wait_for("conversation_rated", lambda r: r["conversation_id"] == conversation["id"])
        assert (heard["rating"], heard["comment"]) == (4, "Quick and clear <b>thanks</b>")

        rows = widget_world.admin.ok("GET", "/api/admin/reports/ratings")["ratings"]["rows"]
        assert [(r["rating"], r["comment"]) for r in rows if r["conversation_id"] == conversation["id"]] == [
            (4, "Quick and clear <b>thanks</b>")]
        # A reload remembers it was rated: no second prompt.
        page.reload()
        hook(page, "launcher").click()
        expect(hook(page, "status")).to_contain_text("This conversation is closed")
        expect(rating).to_be_hidden()
    finally:
        agent_peer.disconnect()
