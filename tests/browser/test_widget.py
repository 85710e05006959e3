"""The widget in real Chromium, embedded with its one script tag on another origin's page."""
from __future__ import annotations

import requests
from playwright.sync_api import expect

from ..e2e.conftest import World
from ..fake_openai import FakeOpenAI, Reply
from ..support import Peer, Stack
from .conftest import Net
from .widget import accept, agent_says, connect_agent, embed, hook, messages, screenshot, send, shadow

ACCENT = "rgb(31, 95, 214)"


def test_embed_on_another_origin_lists_the_panel_languages(widget_world: World, net: Net, open_page) -> None:
    client = widget_world.client()
    page = open_page(locale="es-ES")
    embed(page, net.host, server=net.link.url, identity=client["identity"])

    # The host page's hostile styles stay outside the shadow root.
    launcher = hook(page, "launcher")
    expect(launcher).to_have_css("background-color", ACCENT)
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    panel = hook(page, "panel")
    expect(panel).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")

    # The configured languages, in order, by their own names; the browser's preselected.
    options = hook(page, "language-option")
    expect(options).to_have_count(3)
    assert [options.nth(i).get_attribute("data-lang") for i in range(3)] == ["en", "de", "es"]
    expect(options).to_have_text(["English", "Deutsch", "Español"])
    expect(hook(page, "language-option", lang="es")).to_have_attribute("aria-checked", "true")
    expect(hook(page, "language-option", lang="en")).to_have_attribute("aria-checked", "false")
    # The interface speaks Spanish, and says who answers other languages.
    expect(panel).to_contain_text("Chatee con nosotros")
    expect(panel).to_contain_text("asistente de IA")
    expect(hook(page, "status")).to_have_text("Escríbanos un mensaje y le responderemos aquí.")
    greeting = panel.locator(".greeting")
    expect(greeting).to_have_css("text-transform", "none")
    expect(greeting).not_to_have_css("color", "rgb(255, 0, 255)")
    assert "Times" not in greeting.evaluate("element => getComputedStyle(element).fontFamily")

    # Keyboard: Escape closes and gives focus back; Enter opens on the chosen language;
    # arrows move the choice (a radio group), and the interface follows.
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert shadow(page, "return root.activeElement.dataset.chat") == "launcher"
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    assert shadow(page, "return root.activeElement.dataset.lang") == "es"
    page.keyboard.press("ArrowRight")
    expect(hook(page, "language-option", lang="en")).to_have_attribute("aria-checked", "true")
    expect(hook(page, "language-option", lang="es")).to_have_attribute("aria-checked", "false")
    expect(panel).to_contain_text("Chat with us")
    expect(panel).to_have_attribute("role", "dialog")
    expect(page.locator('[data-chat="input"]')).to_have_attribute("placeholder", "Write a message…")


def test_a_page_on_an_origin_not_allowed_is_refused(widget_world: World, net: Net, open_page) -> None:
    config = widget_world.url + "/api/widget/config"
    allowed = requests.get(config, headers={"Origin": net.host.origin}, timeout=5)
    assert allowed.headers["Access-Control-Allow-Origin"] == net.host.origin
    refused = requests.get(config, headers={"Origin": net.foreign.origin}, timeout=5)
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Origin" in refused.headers["Vary"]
    handshake = widget_world.url + "/socket.io/?EIO=4&transport=polling"
    assert requests.get(handshake, headers={"Origin": net.host.origin}, timeout=5).status_code == 200
    assert requests.get(handshake, headers={"Origin": net.foreign.origin}, timeout=5).status_code == 400

    client = widget_world.client()
    page = open_page()
    embed(page, net.foreign, server=net.link.url, identity=client["identity"])
    hook(page, "launcher").click()
    expect(hook(page, "panel").get_by_role("alert")).to_have_text(
        "The chat is not available right now. Please try again later.")
    expect(hook(page, "language-option")).to_have_count(0)


def test_a_german_message_reaches_an_agent_and_the_reply_appears(
        widget_world: World, net: Net, open_page, peers: list[Peer], stack: Stack) -> None:
    agent = widget_world.agent(languages=["de"])
    agent_peer = connect_agent(widget_world, agent)
    peers.append(agent_peer)
    client = widget_world.client()
    page = open_page(locale="de-DE")
    embed(page, net.host, server=net.link.url, identity=client["identity"])
    hook(page, "launcher").click()
    expect(hook(page, "language-option", lang="de")).to_have_attribute("aria-checked", "true")
    hook(page, "language-option", lang="de").click()

    text = "Guten Tag, meine Rechnung für November ist leider doppelt abgebucht worden."
    send(page, text)
    visitor = hook(page, "message", sender="visitor")
    expect(visitor).to_have_attribute("data-state", "sent")
    expect(messages(page, "visitor")).to_have_text([text])
    expect(hook(page, "status")).to_contain_text("Sie sind Nummer 1 in der Warteschlange")
    expect(hook(page, "status")).to_contain_text("Kunden mit aktivem Abonnement werden zuerst bedient.")

    conversation = accept(agent_peer, client)
    assert conversation["language"] == "de"
    expect(hook(page, "status")).to_have_text(f"Sie chatten mit {agent['name']}.")

    # Typing, both ways.
    hook(page, "input").press_sequentially("Danke")
    agent_peer.wait_for("typing", lambda t: t["sender"] == "visitor" and t["typing"] is True)
    assert agent_peer.call("typing", {"conversation_id": conversation["id"], "typing": True})["ok"]
    typing = hook(page, "panel").locator(".typing")
    expect(typing).to_have_text(f"{agent['name']} schreibt…")

    # A reply while the panel is closed shows on the launcher.
    page.keyboard.press("Escape")
    expect(hook(page, "panel")).to_be_hidden()
    reply = "Guten Tag! Ich sehe mir die doppelte Abbuchung sofort an."
    agent_says(agent_peer, conversation["id"], reply)
    launcher = hook(page, "launcher")
    expect(launcher.locator(".badge")).to_have_text("1")
    expect(launcher).to_have_attribute("aria-label", "Chat öffnen (1 neu)")
    launcher.click()
    expect(launcher.locator(".badge")).to_be_hidden()
    expect(messages(page, "agent")).to_have_text([reply])
    expect(hook(page, "message", sender="agent").locator(".who")).to_have_text(agent["name"])
    expect(typing).to_be_hidden()
    history = agent_peer.call("history", {"conversation_id": conversation["id"]})
    assert [(m["sender"], m["text"]) for m in history["messages"]] == [("visitor", text), ("agent", reply)]
    screenshot(page, f"widget-open-{stack.name}")


def test_a_japanese_message_gets_a_streamed_ai_reply_then_a_human(
        widget_world: World, net: Net, model: FakeOpenAI, open_page) -> None:
    answer = "お問い合わせありがとうございます。請求書は「設定」→「請求」からダウンロードできます。"
    model.script(Reply(text=answer, chunk_size=3, chunk_delay=0.08))
    client = widget_world.client()
    page = open_page(locale="ja-JP")
    embed(page, net.host, server=net.link.url, identity=client["identity"])
    hook(page, "launcher").click()
    # Japanese is not offered: nothing preselected, the interface in Japanese, the AI note shown.
    expect(hook(page, "language-option")).to_have_count(3)
    expect(hook(page, "language-option").and_(page.locator('[aria-checked="true"]'))).to_have_count(0)
    expect(hook(page, "panel")).to_contain_text("AI アシスタントがお答えします")

    send(page, "請求書をダウンロードできません。どうすればいいですか？")
    # The reply streams into one bubble, clearly labelled, then stays as one message.
    streaming = page.locator('[data-chat="message"][data-sender="ai"][data-streaming]')
    expect(streaming).to_have_count(1)
    ai = hook(page, "message", sender="ai")
    expect(ai.locator(".text")).to_have_text([answer])
    expect(streaming).to_have_count(0)
    expect(ai).to_have_count(1)
    expect(ai.locator(".who")).to_have_text("AI アシスタント")
    expect(hook(page, "status")).to_have_text("AI アシスタントが対応しています。いつでも担当者に切り替えられます。")

    human = hook(page, "human")
    expect(human).to_be_visible()
    human.click()
    status = hook(page, "status")
    expect(status).to_contain_text("担当者の順番待ち")
    expect(status).to_contain_text("英語を話す担当者がお答えします")
    expect(human).to_be_hidden()
    expect(hook(page, "message", sender="system")).to_have_count(1)
    expect(ai).to_have_count(1)


def test_xss_payloads_both_ways_are_shown_as_text(widget_world: World, net: Net, open_page, peers: list[Peer]) -> None:
    email = "eve-" + net.host.origin.rsplit(":", 1)[1] + "@example.com"
    name = '<img src=x onerror="window.__xss=\'agent-name\'">Eve'
    widget_world.admin.ok("POST", "/api/admin/agents", {
        "email": email, "name": name, "password": "agent-password-1", "languages": ["en"], "teams": ["support"]},
        status=201)
    agent_peer = connect_agent(widget_world, {"token": widget_world.admin.login(email, "agent-password-1")})
    peers.append(agent_peer)
    client = widget_world.client()
    page = open_page()
    embed(page, net.host, server=net.link.url, identity=client["identity"])
    hook(page, "launcher").click()

    outgoing = ('Hello, my invoice page shows this: <img src=x onerror="window.__xss=\'visitor\'">'
                "<script>window.__xss='script'</script> <b>bold</b>")
    send(page, outgoing)
    expect(messages(page, "visitor")).to_have_text([outgoing])
    conversation = accept(agent_peer, client)
    incoming = '<a href="javascript:window.__xss=\'link\'">click</a><svg onload="window.__xss=\'svg\'"></svg> &amp; done'
    agent_says(agent_peer, conversation["id"], incoming)
    expect(messages(page, "agent")).to_have_text([incoming])
    expect(hook(page, "message", sender="agent").locator(".who")).to_have_text(name)
    expect(hook(page, "status")).to_have_text(f"You are chatting with {name}.")

    assert page.evaluate("() => window.__xss") is None
    assert shadow(page, "return root.querySelectorAll('.messages img, .messages script, .messages a, .messages svg, .messages b').length") == 0


def test_a_narrow_viewport_gets_a_full_screen_panel(widget_world: World, net: Net, open_page, stack: Stack) -> None:
    client = widget_world.client()
    page = open_page(locale="en-GB", width=390, height=740)
    embed(page, net.host, server=net.link.url, identity=client["identity"])
    hook(page, "launcher").click()
    expect(hook(page, "language-option")).to_have_count(3)
    send(page, "Hi, can I move my domain to another account?")
    expect(hook(page, "message", sender="visitor")).to_have_attribute("data-state", "sent")
    box = hook(page, "panel").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 740}
    expect(hook(page, "launcher")).to_be_hidden()
    expect(hook(page, "input")).to_be_in_viewport()
    expect(hook(page, "send")).to_be_in_viewport()
    screenshot(page, f"widget-narrow-{stack.name}")
    # Full screen, the panel is a modal dialog: Tab cycles inside it.
    expect(hook(page, "panel")).to_have_attribute("aria-modal", "true")
    hook(page, "send").focus()
    page.keyboard.press("Tab")
    assert shadow(page, "return root.activeElement.getAttribute('aria-label')") == "Close chat"
    page.keyboard.press("Shift+Tab")
    assert shadow(page, "return root.activeElement.dataset.chat") == "send"
    page.keyboard.press("Escape")
    expect(hook(page, "launcher")).to_be_visible()
