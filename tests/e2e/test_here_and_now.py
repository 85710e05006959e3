"""Here and now end to end: the manual provider, and Stripe confirmed only by a signed webhook (no network)."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ..support import Api, Peer, Stack
from .conftest import World, open_agent, open_visitor, running_world

STRIPE_WEBHOOK_SECRET = "whsec_test_" + "s" * 24


class FakeStripe:
    """A real HTTP server answering the one Stripe API call we make: creating a Checkout Session."""

    def __init__(self) -> None:
        self.created: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                session_id = f"cs_test_{uuid.uuid4().hex}"
                fake.created.append({"path": self.path, "form": form, "id": session_id,
                                     "authorization": self.headers.get("Authorization")})
                body = json.dumps({"id": session_id, "object": "checkout.session", "payment_status": "unpaid",
                                   "status": "open", "url": f"https://checkout.stripe.com/c/pay/{session_id}"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", "req_test")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def stripe_signature(payload: str, *, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Sign a payload exactly as Stripe does: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def completed_event(session_id: str, *, event_id: str | None = None, payment_status: str = "paid") -> str:
    return json.dumps({"id": event_id or f"evt_{uuid.uuid4().hex}", "object": "event", "api_version": "2024-06-20",
                       "type": "checkout.session.completed", "created": int(time.time()),
                       "data": {"object": {"id": session_id, "object": "checkout.session",
                                           "payment_status": payment_status, "status": "complete"}}})


@pytest.fixture(scope="module")
def world(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(stack, str(tmp_path_factory.mktemp("logs")),
                       extra_env={"HERE_AND_NOW_PRICE_CENTS": "2500", "HERE_AND_NOW_CURRENCY": "EUR"}) as started:
        yield started


@pytest.fixture(scope="module")
def stripe_world(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, FakeStripe]]:
    fake = FakeStripe()
    env = {"PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY": "sk_test_123", "STRIPE_API_BASE": fake.url,
           "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET, "STRIPE_SUCCESS_URL": "https://shop.example/paid",
           "STRIPE_CANCEL_URL": "https://shop.example/cancelled"}
    with running_world(stack, str(tmp_path_factory.mktemp("logs")), extra_env=env, name="stripe") as started:
        yield started, fake
    fake.server.shutdown()


def test_manual_payment_promotes_offers_to_a_specialist_and_is_idempotent(world: World, peers: list[Peer]) -> None:
    assert Api(world.url).ok("GET", "/api/widget/config")["here_and_now"] == {
        "price_cents": 2500, "currency": "eur", "provider": "manual"}
    _, specialist = open_agent(world, peers, languages=["en"], teams=["technical"])
    _, supporter = open_agent(world, peers, languages=["en"], teams=["support"])
    _, visitor = open_visitor(world, peers)
    conversation_id = visitor.call("message", {"client_id": "m1", "text": "Our checkout page crashes for everyone"}
                                   )["message"]["conversation_id"]
    offer = visitor.call("here_and_now")
    assert offer["ok"] is True, offer
    assert (offer["price_cents"], offer["currency"], offer["provider"]) == (2500, "eur", "manual")
    assert offer["payment"]["status"] == "pending" and offer["payment"]["checkout_url"] is None
    again = visitor.call("here_and_now")
    assert again["payment"]["id"] == offer["payment"]["id"]  # asking twice does not open a second payment

    paid = supporter.call("mark_paid", {"payment_id": offer["payment"]["id"]})
    assert paid["ok"] is True and paid["payment"]["status"] == "paid", paid
    visitor.wait_for("message", lambda m: m.get("event") == "here_and_now_confirmed")
    visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["priority"] == "here_and_now"
                     and c["team"] == "technical")
    specialist.wait_for("here_and_now_offer", lambda o: o["conversation_id"] == conversation_id)
    specialist.wait_for("queue", lambda q: q["conversations"] and q["conversations"][0]["id"] == conversation_id)

    # Marking it paid again changes nothing and says nothing twice.
    replay = world.admin.ok("POST", f"/api/payments/{offer['payment']['id']}/paid")["payment"]
    assert replay["paid_at"] == paid["payment"]["paid_at"]
    assert visitor.call("here_and_now")["error"]["code"] == "already_paid"
    accepted = specialist.call("accept", {"conversation_id": conversation_id})
    assert accepted["ok"] is True, accepted
    joined = visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["state"] == "active")
    assert joined["agent"]["id"] == accepted["conversation"]["agent"]["id"]
    time.sleep(0.3)
    notices = [m for name, m in visitor.events if name == "message" and m.get("event") == "here_and_now_confirmed"]
    assert len(notices) == 1


def test_manual_payment_errors(world: World, peers: list[Peer]) -> None:
    _, visitor = open_visitor(world, peers)
    assert visitor.call("here_and_now")["error"]["code"] == "no_conversation"
    # Nobody speaking Spanish in the technical team: nothing is offered or charged.
    world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "es"]})
    conversation_id = visitor.call("message", {"client_id": "m1", "text": "Hola, nuestro servidor no responde "
                                                                          "desde esta mañana"})["message"]["conversation_id"]
    open_agent(world, peers, languages=["en"], teams=["technical"])
    refused = visitor.call("here_and_now")
    assert refused["error"]["code"] == "no_specialist", refused
    assert not [p for p in world.admin.ok("GET", "/api/admin/payments")["payments"]
                if p["conversation_id"] == conversation_id]
    open_agent(world, peers, languages=["es"], teams=["technical"])
    assert visitor.call("here_and_now")["payment"]["conversation_id"] == conversation_id
    _, agent = open_agent(world, peers, languages=["en"])
    assert agent.call("mark_paid", {"payment_id": "1"})["error"]["code"] == "invalid"
    assert agent.call("mark_paid", {"payment_id": 2**31 - 1})["error"]["code"] == "not_found"
    assert Api(world.url).request("POST", "/api/payments/1/paid").status_code == 401
    # The stripe webhook does not exist while the provider is manual.
    assert Api(world.url).request("POST", "/api/webhooks/stripe", {"id": "evt"}).status_code == 404


def test_stripe_checkout_then_signed_webhook_confirms_once(stripe_world: tuple[World, FakeStripe],
                                                           peers: list[Peer]) -> None:
    world, fake = stripe_world
    _, specialist = open_agent(world, peers, languages=["en"], teams=["technical"])
    _, visitor = open_visitor(world, peers)
    conversation_id = visitor.call("message", {"client_id": "m1", "text": "The API returns 500 on every call"}
                                   )["message"]["conversation_id"]
    offer = visitor.call("here_and_now")
    assert offer["ok"] is True and offer["provider"] == "stripe", offer
    session_id = offer["payment"]["provider_payment_id"]
    assert offer["payment"]["checkout_url"] == f"https://checkout.stripe.com/c/pay/{session_id}"
    request = next(created for created in fake.created if created["id"] == session_id)
    assert request["path"] == "/v1/checkout/sessions" and request["authorization"] == "Bearer sk_test_123"
    assert request["form"]["line_items[0][price_data][unit_amount]"] == ["4900"]
    assert request["form"]["client_reference_id"] == [str(conversation_id)]

    # A redirect or an agent's click never confirms a Stripe payment.
    refused = specialist.call("mark_paid", {"payment_id": offer["payment"]["id"]})
    assert refused["error"]["code"] == "forbidden"

    hook = Api(world.url)
    payload = completed_event(session_id, event_id="evt_first")
    unsigned = hook.request("POST", "/api/webhooks/stripe", data=payload,
                            headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 400 and unsigned.json()["error"]["code"] == "bad_signature"
    forged = hook.request("POST", "/api/webhooks/stripe", data=payload, headers={
        "Content-Type": "application/json", "Stripe-Signature": stripe_signature(payload, secret="whsec_wrong")})
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "bad_signature"
    stale = hook.request("POST", "/api/webhooks/stripe", data=payload, headers={
        "Content-Type": "application/json", "Stripe-Signature": stripe_signature(payload, timestamp=1_000_000)})
    assert stale.status_code == 400
    assert visitor.call("history")["conversation"]["priority"] == "standard"

    signed = {"Content-Type": "application/json", "Stripe-Signature": stripe_signature(payload)}
    assert hook.request("POST", "/api/webhooks/stripe", data=payload, headers=signed).json() == {"status": "applied"}
    visitor.wait_for("message", lambda m: m.get("event") == "here_and_now_confirmed")
    specialist.wait_for("here_and_now_offer", lambda o: o["conversation_id"] == conversation_id)
    # The same event replayed, and a second event for the same session: nothing more happens.
    assert hook.request("POST", "/api/webhooks/stripe", data=payload, headers=signed).json() == {"status": "duplicate"}
    second = completed_event(session_id, event_id="evt_second")
    assert hook.request("POST", "/api/webhooks/stripe", data=second, headers={
        "Content-Type": "application/json", "Stripe-Signature": stripe_signature(second)}).json() == {
        "status": "duplicate"}
    payments = world.admin.ok("GET", "/api/admin/payments")["payments"]
    mine = [payment for payment in payments if payment["provider_payment_id"] == session_id]
    assert len(mine) == 1 and mine[0]["status"] == "paid" and mine[0]["refund_due_at"] is None
    time.sleep(0.3)
    assert len([m for name, m in visitor.events if name == "message"
                and m.get("event") == "here_and_now_confirmed"]) == 1


def test_stripe_events_we_do_not_act_on_are_ignored(stripe_world: tuple[World, FakeStripe]) -> None:
    world, _ = stripe_world
    payload = completed_event("cs_test_unpaid", payment_status="unpaid")
    response = Api(world.url).request("POST", "/api/webhooks/stripe", data=payload, headers={
        "Content-Type": "application/json", "Stripe-Signature": stripe_signature(payload)})
    assert response.json() == {"status": "ignored"}
    for not_an_event in ('{"id": "evt_x"}', "[]"):
        response = Api(world.url).request("POST", "/api/webhooks/stripe", data=not_an_event, headers={
            "Content-Type": "application/json", "Stripe-Signature": stripe_signature(not_an_event)})
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid", response.text
    garbage = "not json"
    response = Api(world.url).request("POST", "/api/webhooks/stripe", data=garbage, headers={
        "Content-Type": "application/json", "Stripe-Signature": stripe_signature(garbage)})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
