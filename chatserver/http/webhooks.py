"""Webhooks from outside systems: billing sets subscriptions, Stripe confirms payments. Both verified before use."""
from __future__ import annotations

import hashlib
import hmac
import json

from flask import Blueprint, current_app, jsonify, request

from ..services import services
from ..services.errors import ServiceError

webhooks = Blueprint("webhooks", __name__)

SIGNATURE_HEADER = "X-Chatserver-Signature"
MAX_BODY = 64 * 1024


def _body() -> bytes:
    if (request.content_length or 0) > MAX_BODY:
        raise ServiceError("too_large", f"The body must be at most {MAX_BODY} bytes.", status=413)
    return request.get_data(cache=False)


def verify_signature(body: bytes, header: str | None, *, secret: str) -> None:
    """Refuse a body whose X-Chatserver-Signature is not sha256=<hex HMAC-SHA256 of the body>."""
    scheme, _, digest = (header or "").partition("=")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if scheme != "sha256" or not hmac.compare_digest(digest.encode(), expected.encode()):
        raise ServiceError("bad_signature", f"{SIGNATURE_HEADER} must be sha256=<HMAC-SHA256 of the body>.",
                           status=401)


@webhooks.post("/api/webhooks/subscription")
def subscription():
    secret = current_app.config["SUBSCRIPTION_WEBHOOK_SECRET"]
    if not secret:
        raise ServiceError("not_configured", "Set SUBSCRIPTION_WEBHOOK_SECRET to accept subscription webhooks.",
                           status=404)
    body = _body()
    verify_signature(body, request.headers.get(SIGNATURE_HEADER), secret=secret)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("personal_id"), str) \
            or "subscription_active_until" not in data:
        raise ServiceError("invalid", "The body must be a JSON object with personal_id and "
                           "subscription_active_until (a date-time, or null).")
    event_id = data.get("event_id")
    if event_id is not None and (not isinstance(event_id, str) or not 0 < len(event_id) <= 255):
        raise ServiceError("invalid", "event_id must be a string of at most 255 characters.")
    container = services()
    container.admin.get_client(personal_id=data["personal_id"])  # 404 before the event id is spent
    if event_id is not None and not container.admin.record_webhook(provider="subscription", event_id=event_id):
        return jsonify(status="duplicate")
    client = container.admin.set_subscription(personal_id=data["personal_id"],
                                              subscription_active_until=data["subscription_active_until"],
                                              source="billing_webhook")
    return jsonify(status="applied", personal_id=client.personal_id,
                   subscription_active=client.has_active_subscription(now=container.clock()))


@webhooks.post("/api/webhooks/stripe")
def stripe_webhook():
    container = services()
    if container.payments.provider != "stripe":
        raise ServiceError("not_configured", "PAYMENT_PROVIDER is not stripe.", status=404)
    return jsonify(container.payments.handle_webhook(payload=_body(),
                                                     signature=request.headers.get("Stripe-Signature")))
