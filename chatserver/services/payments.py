"""Here and now: the paid urgent service. Providers behind one small interface, confirmation exactly once."""
from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..events import EventBus, RefundDue
from ..models import Agent, Conversation, Payment, WebhookEvent
from .errors import ServiceError
from .sla import payment_view
from .validation import positive_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkout:
    """What a provider returns for a new payment: its id, and where the visitor pays (None: nowhere)."""

    provider_payment_id: str
    checkout_url: str | None


@dataclass(frozen=True)
class Confirmation:
    """A verified notice from a provider that a payment succeeded."""

    event_id: str
    provider_payment_id: str


class PaymentProvider(ABC):
    """Create payments and verify the provider's confirmations."""

    name: str

    @abstractmethod
    def create_checkout(self, *, conversation_id: int, amount_cents: int, currency: str,
                        customer_email: str) -> Checkout:
        """Start a payment for one conversation."""

    def verify_webhook(self, *, payload: bytes, signature: str | None) -> Confirmation | None:
        """Return the confirmation a signed webhook carries, None for events we ignore; raise ServiceError if unsigned."""
        raise ServiceError("not_found", f"The {self.name} provider takes no webhooks.", status=404)


class ManualProvider(PaymentProvider):
    """An agent or admin marks the payment paid after taking the money by other means."""

    name = "manual"

    def create_checkout(self, *, conversation_id: int, amount_cents: int, currency: str,
                        customer_email: str) -> Checkout:
        return Checkout(provider_payment_id=f"manual-{uuid.uuid4().hex}", checkout_url=None)


class StripeProvider(PaymentProvider):
    """Stripe Checkout Sessions; a payment counts only when a webhook with a valid signature says so."""

    name = "stripe"

    def __init__(self, *, api_key: str, webhook_secret: str, success_url: str, cancel_url: str,
                 api_base: str | None = None):
        import stripe

        self._stripe = stripe
        # api_base points the official client at stripe-mock or a test server.
        self._client = stripe.StripeClient(api_key, base_addresses={"api": api_base} if api_base else None,
                                           max_network_retries=1)
        self._webhook_secret = webhook_secret
        self._success_url = success_url
        self._cancel_url = cancel_url

    def create_checkout(self, *, conversation_id: int, amount_cents: int, currency: str,
                        customer_email: str) -> Checkout:
        try:
            session = self._client.v1.checkout.sessions.create(params={
                "mode": "payment",
                "line_items": [{"quantity": 1, "price_data": {
                    "currency": currency, "unit_amount": amount_cents,
                    "product_data": {"name": "Here and now: urgent technical help"}}}],
                "client_reference_id": str(conversation_id),
                "metadata": {"conversation_id": str(conversation_id)},
                "customer_email": customer_email,
                "success_url": self._success_url,
                "cancel_url": self._cancel_url,
            })
        except self._stripe.StripeError as error:
            log.warning("stripe checkout failed: %s", type(error).__name__)
            raise ServiceError("payment_unavailable", "Payment is unavailable right now; please try again later.",
                               status=503) from None
        return Checkout(provider_payment_id=session.id, checkout_url=session.url)

    def verify_webhook(self, *, payload: bytes, signature: str | None) -> Confirmation | None:
        try:
            event = self._stripe.Webhook.construct_event(payload.decode("utf-8"), signature or "",
                                                         self._webhook_secret)
        except self._stripe.SignatureVerificationError:
            raise ServiceError("bad_signature", "The Stripe-Signature header does not match.", status=400) from None
        except (ValueError, TypeError, AttributeError, KeyError, UnicodeDecodeError):
            # Signed by Stripe's secret but not an event object.
            raise ServiceError("invalid", "The webhook body is not a Stripe event.") from None
        try:
            if event.type not in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
                return None
            session = event.data.object
            # A completed session may still be paying by a delayed method; its
            # async_payment_succeeded event confirms it later.
            if getattr(session, "payment_status", None) != "paid":
                return None
            return Confirmation(event_id=str(event.id), provider_payment_id=str(session.id))
        except (AttributeError, KeyError):
            raise ServiceError("invalid", "The webhook body is not a Stripe event.") from None


class PaymentService:
    """Offer Here and now, record payments once, and promote paid conversations."""

    def __init__(self, *, db: sessionmaker[Session], provider: PaymentProvider, events: EventBus,
                 clock: Callable[[], datetime], price_cents: int, currency: str,
                 promote: Callable[..., bool], specialist_online: Callable[..., bool]):
        self._db = db
        self._provider = provider
        self._events = events
        self._clock = clock
        self._price_cents = price_cents
        self._currency = currency
        self._promote = promote
        self._specialist_online = specialist_online

    @property
    def provider(self) -> str:
        return self._provider.name

    def offer(self) -> dict[str, Any]:
        """Return the price and provider, for the widget."""
        return {"price_cents": self._price_cents, "currency": self._currency, "provider": self._provider.name}

    def request(self, *, client_id: int) -> dict[str, Any]:
        """Start (or return the pending) Here-and-now payment for the client's open conversation."""
        with self._db() as session:
            conversation = session.scalar(select(Conversation).where(
                Conversation.client_id == client_id, Conversation.state != "closed"))
            if conversation is None:
                raise ServiceError("no_conversation", "There is no open conversation; send a message first.")
            if conversation.priority == "here_and_now":
                raise ServiceError("already_paid", "Here and now is already paid for this conversation.", status=409)
            if conversation.state == "active":
                raise ServiceError("not_queued", "You are already talking with a person.", status=409)
            # One pending payment per conversation: asking twice must not charge twice.
            pending = session.scalar(select(Payment).where(
                Payment.conversation_id == conversation.id, Payment.status == "pending",
                Payment.provider == self._provider.name).order_by(Payment.id.desc()).limit(1))
            if pending is not None:
                return {**self.offer(), "payment": payment_view(pending)}
            conversation_id, email = conversation.id, conversation.client.email
        # "At once" must be true before anyone pays: no specialist, no offer.
        if not self._specialist_online(conversation_id=conversation_id):
            raise ServiceError("no_specialist", "No technical specialist who speaks your language is online "
                               "right now, so Here and now cannot be offered; your conversation stays in the queue.",
                               status=409)
        checkout = self._provider.create_checkout(conversation_id=conversation_id, amount_cents=self._price_cents,
                                                  currency=self._currency, customer_email=email)
        payment = Payment(conversation_id=conversation_id, client_id=client_id, provider=self._provider.name,
                          provider_payment_id=checkout.provider_payment_id, amount_cents=self._price_cents,
                          currency=self._currency, status="pending", checkout_url=checkout.checkout_url,
                          created_at=self._clock())
        with self._db.begin() as session:
            session.add(payment)
        log.info("payment %s requested for conversation %s via %s", payment.id, conversation_id, self._provider.name)
        return {**self.offer(), "payment": payment_view(payment)}

    def mark_paid(self, *, agent_id: int, payment_id: Any) -> dict[str, Any]:
        """Confirm a manual payment: agents and admins may."""
        payment_id = positive_id(payment_id, field="payment_id")
        with self._db() as session:
            payment = session.get(Payment, payment_id)
            agent = session.get(Agent, agent_id)
            if payment is None:
                raise ServiceError("not_found", "No such payment.", status=404)
            if payment.provider != "manual":
                raise ServiceError("forbidden", "Only manual payments are marked paid by hand; the provider "
                                   "confirms the others.", status=403)
            if agent is None:
                raise ServiceError("forbidden", "Agents only.", status=403)
        self._confirm(provider="manual", provider_payment_id=payment.provider_payment_id, confirmed_by=agent_id)
        return self.payment(payment_id=payment_id)

    def payment(self, *, payment_id: int) -> dict[str, Any]:
        with self._db() as session:
            payment = session.get(Payment, payment_id)
            if payment is None:
                raise ServiceError("not_found", "No such payment.", status=404)
            return payment_view(payment)

    def list_payments(self, *, status: str | None = None) -> list[dict[str, Any]]:
        """Return payments, newest first; refund_due lists those owed back."""
        with self._db() as session:
            query = select(Payment)
            if status == "refund_due":
                query = query.where(Payment.refund_due_at.is_not(None))
            elif status is not None:
                query = query.where(Payment.status == status)
            return [payment_view(payment) for payment in session.scalars(query.order_by(Payment.id.desc()))]

    def handle_webhook(self, *, payload: bytes, signature: str | None) -> dict[str, Any]:
        """Verify a provider webhook and apply it once; replays answer "duplicate"."""
        confirmation = self._provider.verify_webhook(payload=payload, signature=signature)
        if confirmation is None:
            return {"status": "ignored"}
        try:
            with self._db.begin() as session:
                session.add(WebhookEvent(provider=self._provider.name, event_id=confirmation.event_id,
                                         received_at=self._clock()))
        except IntegrityError:
            return {"status": "duplicate"}
        applied = self._confirm(provider=self._provider.name,
                                provider_payment_id=confirmation.provider_payment_id, confirmed_by=None)
        return {"status": "applied" if applied else "duplicate"}

    def _confirm(self, *, provider: str, provider_payment_id: str, confirmed_by: int | None) -> bool:
        """Mark a payment paid once and promote its conversation; a second payment for it is owed back."""
        now = self._clock()
        with self._db.begin() as session:
            # The conditional update makes confirmation happen once, however
            # many webhooks, clicks or processes race.
            won = session.execute(update(Payment).where(
                Payment.provider == provider, Payment.provider_payment_id == provider_payment_id,
                Payment.status == "pending").values(status="paid", paid_at=now, confirmed_by=confirmed_by)
            ).rowcount == 1
            payment = session.scalar(select(Payment).where(Payment.provider == provider,
                                                           Payment.provider_payment_id == provider_payment_id))
            if payment is None:
                log.warning("confirmation for an unknown %s payment", provider)
                return False
            payment_id, conversation_id = payment.id, payment.conversation_id
        if not won:
            return False
        log.info("payment %s confirmed", payment_id)
        if not self._promote(conversation_id=conversation_id):
            # Already here_and_now (a second checkout paid) or closed: the money goes back.
            with self._db.begin() as session:
                session.execute(update(Payment).where(Payment.id == payment_id, Payment.refund_due_at.is_(None))
                                .values(refund_due_at=now))
            self._events.publish(RefundDue(self.payment(payment_id=payment_id)))
        return True
