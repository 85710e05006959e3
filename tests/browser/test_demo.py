"""The demo page end to end in the browser, and how /widget.js is served."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import requests
from playwright.sync_api import expect

from chatserver.app import create_app

from ..e2e.conftest import World
from ..fake_openai import FakeOpenAI, Reply
from .conftest import Net
from .widget import hook, messages, send

BUNDLE = Path(__file__).parents[2] / "chatserver" / "static" / "widget" / "widget.js"


def test_the_demo_page_chats_with_an_agent_and_with_the_ai(
        widget_world: World, net: Net, model: FakeOpenAI, open_page) -> None:
    agent = widget_world.agent(languages=["en"])
    client = widget_world.client()
    page = open_page()
    # Through the link: its origin is one of this server's ALLOWED_ORIGINS.
    page.goto(net.link.url + "/demo")
    expect(page.locator("#snippet")).to_contain_text('/widget.js" data-identity="JWT" async></script>')

    # The development-only form mints an identity and boots the widget with it.
    page.locator("#client").select_option(client["personal_id"])
    page.locator("#identity-submit").click()
    expect(page.locator("#site-status")).to_contain_text(f"Signed in as {client['name']}")
    hook(page, "launcher").click()
    hook(page, "language-option", lang="en").click()
    question = "Hello, I would like to move my plan to the business tier this month."
    send(page, question)
    expect(hook(page, "message", sender="visitor")).to_have_attribute("data-state", "sent")

    # The agent side of the page: sign in, accept, reply, close.
    page.locator("#agent-email").fill(agent["email"])
    page.locator("#agent-password").fill("agent-password-1")
    page.locator("#agent-login button").click()
    page.locator("#agent-queue li", has_text=client["name"]).get_by_role("button", name="Accept").click()
    expect(hook(page, "status")).to_have_text(f"You are chatting with {agent['name']}.")
    expect(page.locator("#agent-log")).to_contain_text(question)
    answer = "Of course: I have switched you to the business tier from today."
    page.locator("#agent-text").fill(answer)
    page.locator("#agent-send").click()
    expect(messages(page, "agent")).to_have_text([answer])
    page.locator("#agent-close").click()
    expect(hook(page, "status")).to_have_text("This conversation is closed. Write a message to start a new one.")

    # A new conversation in a language the team does not offer goes to the AI assistant.
    model.script(Reply(text="Olá! Posso ajudar com a sua fatura. Qual é o número da fatura?", chunk_size=8))
    send(page, "Olá, não consigo encontrar a minha fatura de outubro na minha conta.")
    expect(messages(page, "ai")).to_have_text(["Olá! Posso ajudar com a sua fatura. Qual é o número da fatura?"])
    expect(hook(page, "human")).to_be_visible()

    # A reload signs the same visitor in again, and the widget resyncs its conversation.
    page.reload()
    expect(hook(page, "panel")).to_be_visible()
    expect(messages(page, "ai")).to_have_count(1)
    expect(messages(page, "visitor").last).to_have_text("Olá, não consigo encontrar a minha fatura de outubro na minha conta.")


def test_widget_js_is_served_versioned_and_cached(widget_world: World) -> None:
    demo = requests.get(widget_world.url + "/demo", timeout=5).text
    [versioned] = re.findall(r'<script src="(/widget\.js\?v=[0-9a-f]{12})" async>', demo)
    response = requests.get(widget_world.url + versioned, timeout=5)
    assert response.status_code == 200
    assert response.content == BUNDLE.read_bytes()
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    plain = requests.get(widget_world.url + "/widget.js", timeout=5)
    assert plain.headers["Cache-Control"] == "public, max-age=300"
    again = requests.get(widget_world.url + "/widget.js", headers={"If-None-Match": plain.headers["ETag"]}, timeout=5)
    assert again.status_code == 304
    # An old version's URL gets today's bundle, cached briefly.
    old = requests.get(widget_world.url + "/widget.js?v=000000000000", timeout=5)
    assert old.content == BUNDLE.read_bytes() and old.headers["Cache-Control"] == "public, max-age=300"


def test_production_serves_the_widget_but_no_demo(tmp_path: Path) -> None:
    app = create_app({"ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                      "IDENTITY_SECRET": "i" * 32, "SECRET_KEY": "s" * 32, "AI_WORKERS": 0})
    http = app.test_client()
    assert http.get("/widget.js").status_code == 200
    assert http.get("/demo").status_code == 404
    assert http.get("/api/demo/clients").status_code == 404
    assert http.post("/api/demo/identity", json={"personal_id": "C-00000000"}).status_code == 404


def test_interface_text_is_served_per_language_and_cached_by_version(widget_world: World) -> None:
    catalogs = BUNDLE.parent / "i18n"
    german = (catalogs / "de.json").read_bytes()
    version = hashlib.sha256(german).hexdigest()[:12]
    assert version in BUNDLE.read_text("utf-8")  # the script asks for exactly this version
    response = requests.get(f"{widget_world.url}/widget/i18n/de.json?v={version}", timeout=5)
    assert response.status_code == 200 and response.content == german
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(german)["send"] == "Senden"
    plain = requests.get(f"{widget_world.url}/widget/i18n/de.json", timeout=5)
    assert plain.headers["Cache-Control"] == "public, max-age=300"
    for path in ("/widget/i18n/xx.json", "/widget/i18n/..%2Fwidget.json", "/widget/i18n/de-DE.json"):
        missing = requests.get(widget_world.url + path, timeout=5)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found", path
