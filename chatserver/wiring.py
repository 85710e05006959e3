"""Build the services one app uses, each implementation chosen by configuration."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from . import jobs
from .ai import AIAgent, Budgets, OpenAIChatModel, PromptBuilder
from .catalog import Catalog
from .db import make_engine, make_sessionmaker
from .events import AgentDeactivated, EventBus, SubscriptionChanged
from .identity import HostTokens, IdentityService, Rates, SessionTokens
from .language import make_detector
from .mail import MailService, MailTemplates, make_mailer
from .logs import log_event
from .metrics import Metrics
from .models import utcnow
from .routing.sla import SlaPolicy
from .services import AdminService, AuthService, ChatService, Services
from .services.audit import AuditLog
from .services.feedback import FeedbackService
from .services.hours import HoursService
from .services.reports import ReportService
from .services.payments import ManualProvider, PaymentProvider, PaymentService, StripeProvider
from .services.sla import SlaService, SlaWebhook
from .state import make_state


def build_services(config: Mapping[str, Any], *, spawn: Callable[..., Any],
                   clock: Callable[[], datetime] = utcnow) -> Services:
    engine = make_engine(config["DATABASE_URL"])
    db = make_sessionmaker(engine)
    state = make_state(redis_url=config["REDIS_URL"], prefix=config["REDIS_PREFIX"])
    events = EventBus()
    catalog = Catalog(config["PROMPTS_DIR"])
    runner = jobs.JobRunner(state=state, spawn=spawn,
                            workers={jobs.AI: config["AI_WORKERS"], jobs.MAIL: config["MAIL_WORKERS"]},
                            limits={jobs.AI: config["AI_QUEUE_LIMIT"], jobs.MAIL: config["MAIL_QUEUE_LIMIT"]})
    audit = AuditLog(db=db, clock=clock)
    hours = HoursService(db=db, events=events, clock=clock, default=config["TEAM_HOURS_DEFAULT"], audit=audit)
    chat = ChatService(db=db, state=state, detector=make_detector(config["LANGUAGE_DETECTOR"]), events=events,
                       catalog=catalog, clock=clock, sla=sla_policy(config), hours=hours,
                       max_message_length=config["MAX_MESSAGE_LENGTH"], presence_ttl=config["PRESENCE_TTL"],
                       caution_hours=config["IDENTITY_CAUTION_HOURS"])
    container = Services(
        db=db, engine=engine, state=state, events=events, jobs=runner, clock=clock, chat=chat,
        auth=AuthService(db=db, secret_key=config["SECRET_KEY"], token_ttl=config["AGENT_TOKEN_TTL"], clock=clock,
                         state=state, login_max_failures=config["LOGIN_MAX_FAILURES"],
                         login_window_seconds=config["LOGIN_WINDOW_SECONDS"]),
        admin=AdminService(db=db, events=events, clock=clock, audit=audit),
        hours=hours,
        audit=audit,
        feedback=FeedbackService(db=db, events=events, clock=clock, window_days=config["RATING_WINDOW_DAYS"]),
        reports=ReportService(db=db, clock=clock),
        sla=SlaService(db=db, chat=chat, hours=hours, events=events, clock=clock,
                       refund_minutes=config["HERE_AND_NOW_REFUND_MINUTES"]),
        payments=PaymentService(db=db, provider=payment_provider(config), events=events, clock=clock,
                                price_cents=config["HERE_AND_NOW_PRICE_CENTS"],
                                currency=config["HERE_AND_NOW_CURRENCY"], promote=chat.promote_here_and_now,
                                specialist_online=chat.here_and_now_specialist_online),
    )
    mail = MailService(db=db, mailer=make_mailer(config), templates=MailTemplates(config["PROMPTS_DIR"]), jobs=runner,
                       clock=clock, defaults={"company": config["COMPANY_NAME"]})
    container.mail = mail
    container.identity = identity_service(config, db=db, state=state, events=events, audit=container.audit,
                                          mail=mail, clock=clock)
    events.subscribe(lambda event: chat.retier_client(client_id=event.client_id)
                     if isinstance(event, SubscriptionChanged) else None)
    # A deactivated agent's conversations go straight back to the queue.
    events.subscribe(lambda event: chat.release_agent(agent_id=event.agent_id)
                     if isinstance(event, AgentDeactivated) else None)
    if config["SLA_WEBHOOK_URL"]:
        if not config["SLA_WEBHOOK_SECRET"]:
            raise ValueError("SLA_WEBHOOK_URL needs SLA_WEBHOOK_SECRET to sign its requests")
        events.subscribe(SlaWebhook(url=config["SLA_WEBHOOK_URL"], secret=config["SLA_WEBHOOK_SECRET"]))
    events.subscribe(log_event)
    container.metrics = Metrics(state=state)
    events.subscribe(container.metrics.on_event)
    model = None
    if config["OPENAI_API_KEY"]:
        model = OpenAIChatModel(api_key=config["OPENAI_API_KEY"], base_url=config["OPENAI_BASE_URL"],
                                model=config["AI_MODEL"], timeout=config["AI_TIMEOUT"],
                                max_retries=config["AI_MAX_RETRIES"])
    container.ai = AIAgent(
        chat=chat, jobs=runner, state=state, catalog=catalog, model=model,
        prompts=PromptBuilder(directory=config["PROMPTS_DIR"], company=config["COMPANY_NAME"]),
        budgets=Budgets(conversation_tokens=config["AI_CONVERSATION_TOKEN_BUDGET"],
                        daily_tokens=config["AI_DAILY_TOKEN_BUDGET"], history_tokens=config["AI_HISTORY_TOKENS"],
                        max_output_tokens=config["AI_MAX_OUTPUT_TOKENS"], turn_seconds=config["AI_TURN_SECONDS"]))
    return container


def identity_service(config: Mapping[str, Any], **parts: Any) -> IdentityService:
    """Return the identity service the settings describe."""
    clock = parts["clock"]
    return IdentityService(
        **parts, secret_key=config["SECRET_KEY"],
        host_tokens=HostTokens(keys=config["IDENTITY_KEYS"], legacy_secret=config["IDENTITY_SECRET"],
                               max_lifetime=config["IDENTITY_MAX_LIFETIME"], state=parts["state"], clock=clock),
        sessions=SessionTokens(secret_key=config["SECRET_KEY"], ttl=config["IDENTITY_SESSION_TTL"], clock=clock),
        code_ttl=config["IDENTITY_CODE_TTL"], code_attempts=config["IDENTITY_CODE_ATTEMPTS"],
        rates=Rates(email=config["IDENTITY_CODE_RATE_EMAIL"], ip=config["IDENTITY_CODE_RATE_IP"],
                    device=config["IDENTITY_CODE_RATE_DEVICE"]),
        email_change_ttl=config["EMAIL_CHANGE_TTL"],
        public_url=config["PUBLIC_URL"])


def sla_policy(config: Mapping[str, Any]) -> SlaPolicy:
    """Return the first-response deadlines the settings give."""
    return SlaPolicy(hours={"here_and_now": config["FIRST_RESPONSE_HOURS_HERE_AND_NOW"],
                            "subscribed": config["FIRST_RESPONSE_HOURS_SUBSCRIBED"],
                            "standard": config["FIRST_RESPONSE_HOURS"],
                            "ai": config["FIRST_RESPONSE_HOURS_AI"]},
                     escalation_hours=config["SLA_ESCALATION_HOURS"],
                     warning_minutes=config["SLA_WARNING_MINUTES"])


def payment_provider(config: Mapping[str, Any]) -> PaymentProvider:
    """Return the configured Here-and-now payment provider."""
    name = config["PAYMENT_PROVIDER"]
    if name == "manual":
        return ManualProvider()
    if name == "stripe":
        missing = [key for key in ("STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_SUCCESS_URL",
                                   "STRIPE_CANCEL_URL") if not config[key]]
        if missing:
            raise ValueError(f"PAYMENT_PROVIDER=stripe needs {', '.join(missing)}")
        return StripeProvider(api_key=config["STRIPE_API_KEY"], webhook_secret=config["STRIPE_WEBHOOK_SECRET"],
                              success_url=config["STRIPE_SUCCESS_URL"], cancel_url=config["STRIPE_CANCEL_URL"],
                              api_base=config["STRIPE_API_BASE"])
    raise ValueError(f"PAYMENT_PROVIDER must be manual or stripe, not {name!r}")
