"""Real Chromium driving the widget against a real server, embedded in pages from other origins.

Each test module gets a server (tests/e2e/conftest.py's running_world) whose
ALLOWED_ORIGINS are the host site and the link; the foreign site is refused.
The browser reaches the server only through the link, which tests can cut.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ..e2e.conftest import World, running_world
from ..fake_openai import FakeOpenAI
from ..support import Stack
from .net import HostSite, Link

CHROMIUM = "/usr/bin/chromium"
# `playwright install` cannot download browsers here: Debian's chromium it is.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PANEL_LANGUAGES = ["en", "de", "es"]
OPENAI_KEY = "sk-test-" + "w" * 24

expect.set_options(timeout=10_000)


@dataclass
class Net:
    host: HostSite  # an allowed origin
    foreign: HostSite  # not allowed
    link: Link  # the browser's only way to the server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def net() -> Iterator[Net]:
    started = Net(HostSite(), HostSite(), Link())
    yield started
    started.link.close()
    started.host.stop()
    started.foreign.stop()


@pytest.fixture(scope="module")
def widget_world(stack: Stack, net: Net, model: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    env = {"ALLOWED_ORIGINS": f"{net.host.origin},{net.link.url}",
           "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": model.base_url, "AI_MODEL": "fake-model",
           "AI_TIMEOUT": "5", "AI_MAX_RETRIES": "1"}
    with running_world(stack, str(tmp_path_factory.mktemp("logs")), extra_env=env) as world:
        world.admin.ok("PUT", "/api/admin/languages", {"languages": PANEL_LANGUAGES})
        net.link.target = world.server.port
        yield world


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Open pages in fresh browser contexts (own storage, locale, viewport); fail on uncaught page errors."""
    contexts = []
    errors: list[str] = []

    def open_(*, locale: str = "en-US", width: int = 1280, height: int = 800) -> Page:
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height}, timezone_id="UTC")
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not errors, errors


