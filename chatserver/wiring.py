"""Build the services one app uses, each implementation chosen by configuration."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import jobs
from .ai import AIAgent, Budgets, OpenAIChatModel, PromptBuilder
from .catalog import Catalog
from .db import make_engine, make_sessionmaker
from .events import EventBus
from .language import make_detector
from .logs import log_event
from .metrics import Metrics
from .models import utcnow
from .services import AdminService, AuthService, ChatService, Services
from .state import make_state


def build_services(config: Mapping[str, Any], *, spawn: Callable[..., Any]) -> Services:
    engine = make_engine(config["DATABASE_URL"])
    db = make_sessionmaker(engine)
    state = make_state(redis_url=config["REDIS_URL"], prefix=config["REDIS_PREFIX"])
    events = EventBus()
    catalog = Catalog(config["PROMPTS_DIR"])
    runner = jobs.JobRunner(state=state, spawn=spawn, workers={jobs.AI: config["AI_WORKERS"]},
                            limits={jobs.AI: config["AI_QUEUE_LIMIT"]})
    clock = utcnow
    chat = ChatService(db=db, state=state, detector=make_detector(config["LANGUAGE_DETECTOR"]), events=events,
                       catalog=catalog, clock=clock, first_response_hours=config["FIRST_RESPONSE_HOURS"],
                       max_message_length=config["MAX_MESSAGE_LENGTH"], presence_ttl=config["PRESENCE_TTL"])
    container = Services(
        db=db, engine=engine, state=state, events=events, jobs=runner, clock=clock, chat=chat,
        auth=AuthService(db=db, secret_key=config["SECRET_KEY"], identity_secret=config["IDENTITY_SECRET"],
                         token_ttl=config["AGENT_TOKEN_TTL"], clock=clock),
        admin=AdminService(db=db, events=events, clock=clock),
    )
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
