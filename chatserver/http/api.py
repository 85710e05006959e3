"""The REST API (docs/protocol.md)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import text

from ..realtime.queue import listener_status
from ..services import services
from ..services.admin import language_entry
from ..services.errors import ServiceError
from ..services.views import agent_view, client_view
from .authz import require_agent

api = Blueprint("api", __name__)


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError("invalid", "The request body must be a JSON object.")
    return body


@api.get("/healthz")
def healthz():
    """Report whether this process can reach its database and shared state."""
    container = services()
    checks: dict[str, str] = {}
    try:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # reported, not raised: this endpoint must answer
        checks["database"] = f"error: {type(error).__name__}"
    if container.state.message_queue_url is None:
        checks["redis"] = "not_configured"
    else:
        try:
            container.state.ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"error: {type(error).__name__}"
    # Whether this process still hears the message queue (chatserver/realtime/queue.py).
    checks["listener"] = listener_status(current_app.extensions["socketio"].server.manager)
    healthy = all(value in ("ok", "not_configured", "idle") for value in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503


@api.get("/metrics")
def metrics():
    return services().metrics.render(), 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}


@api.post("/api/auth/login")
def login():
    body = json_body()
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise ServiceError("invalid", "email and password are required strings.")
    token, agent = services().auth.login(email=email, password=password, remote=request.remote_addr)
    return jsonify(token=token, agent=agent_view(agent))


@api.get("/api/me")
@require_agent()
def me():
    return jsonify(agent=agent_view(g.agent))


@api.get("/api/widget/config")
def widget_config():
    container = services()
    languages = container.admin.get_languages()
    return jsonify(languages=[language_entry(code) for code in languages], teams=container.hours.status(),
                   here_and_now=container.payments.offer())


@api.get("/api/admin/calendars")
@require_agent(admin=True)
def get_calendars():
    return jsonify(calendars=services().hours.get_calendars())


@api.get("/api/admin/calendars/<team>")
@require_agent(admin=True)
def get_calendar(team: str):
    calendars = services().hours.get_calendars()
    if team not in calendars:
        raise ServiceError("not_found", f"No such team; teams are: {', '.join(calendars)}.", status=404)
    return jsonify(calendar=calendars[team])


@api.put("/api/admin/calendars/<team>")
@require_agent(admin=True)
def put_calendar(team: str):
    return jsonify(calendar=services().hours.set_calendar(team=team, calendar=json_body(), actor=g.agent))


@api.patch("/api/admin/agents/<int:agent_id>")
@require_agent(admin=True)
def patch_agent(agent_id: int):
    agent = services().admin.update_agent(agent_id=agent_id, changes=json_body(), actor=g.agent)
    return jsonify(agent_view(agent))


@api.post("/api/admin/agents/<int:agent_id>/password")
@require_agent(admin=True)
def reset_password(agent_id: int):
    services().admin.reset_password(agent_id=agent_id, password=json_body().get("password"), actor=g.agent)
    return jsonify(status="reset")


@api.put("/api/admin/clients/<personal_id>/subscription")
@require_agent(admin=True)
def put_subscription(personal_id: str):
    body = json_body()
    if "subscription_active_until" not in body:
        raise ServiceError("invalid", "subscription_active_until is required (a date-time, or null for none).")
    client = services().admin.set_subscription(personal_id=personal_id,
                                               subscription_active_until=body["subscription_active_until"],
                                               actor=g.agent)
    return jsonify(client_view(client, now=services().clock()))


@api.get("/api/admin/sla/breaches")
@require_agent(admin=True)
def sla_breaches():
    return jsonify(breaches=services().sla.breaches())


@api.get("/api/admin/payments")
@require_agent(admin=True)
def list_payments():
    status = request.args.get("status")
    if status not in (None, "pending", "paid", "refund_due"):
        raise ServiceError("invalid", "status must be pending, paid or refund_due.")
    return jsonify(payments=services().payments.list_payments(status=status))


@api.post("/api/payments/<int:payment_id>/paid")
@require_agent()
def mark_paid(payment_id: int):
    return jsonify(payment=services().payments.mark_paid(agent_id=g.agent.id, payment_id=payment_id))


@api.get("/api/admin/languages")
@require_agent(admin=True)
def get_languages():
    return jsonify(languages=[language_entry(code) for code in services().admin.get_languages()])


@api.put("/api/admin/languages")
@require_agent(admin=True)
def put_languages():
    codes = services().admin.set_languages(languages=json_body().get("languages"), actor=g.agent)
    return jsonify(languages=[language_entry(code) for code in codes])


@api.post("/api/admin/agents")
@require_agent(admin=True)
def create_agent():
    body = json_body()
    agent = services().admin.create_agent(
        email=body.get("email"), name=body.get("name"), password=body.get("password"),
        languages=body.get("languages"), teams=body.get("teams"), capacity=body.get("capacity", 3),
        role=body.get("role", "agent"), actor=g.agent)
    return jsonify(agent_view(agent)), 201


@api.get("/api/admin/agents")
@require_agent(admin=True)
def list_agents():
    return jsonify(agents=[agent_view(agent) for agent in services().admin.list_agents()])


@api.post("/api/admin/clients")
@require_agent(admin=True)
def create_client():
    body = json_body()
    client = services().admin.create_client(email=body.get("email"), name=body.get("name"),
                                            subscription_active_until=body.get("subscription_active_until"),
                                            actor=g.agent)
    return jsonify(client_view(client, now=services().clock())), 201


@api.get("/api/admin/clients")
@require_agent(admin=True)
def list_clients():
    now = services().clock()
    query = request.args.get("q")
    clients = services().admin.list_clients() if query is None else services().admin.search_clients(query=query)
    return jsonify(clients=[client_view(client, now=now) for client in clients])


@api.get("/api/agents")
@require_agent()
def directory():
    return jsonify(agents=services().chat.directory())


@api.get("/api/canned")
@require_agent()
def canned_for_me():
    return jsonify(canned=services().admin.canned_for(agent=g.agent))


@api.get("/api/admin/canned")
@require_agent(admin=True)
def list_canned():
    return jsonify(canned=services().admin.list_canned())


@api.post("/api/admin/canned")
@require_agent(admin=True)
def create_canned():
    return jsonify(services().admin.create_canned(body=json_body(), actor=g.agent)), 201


@api.put("/api/admin/canned/<int:canned_id>")
@require_agent(admin=True)
def update_canned(canned_id: int):
    return jsonify(services().admin.update_canned(canned_id=canned_id, body=json_body(), actor=g.agent))


@api.delete("/api/admin/canned/<int:canned_id>")
@require_agent(admin=True)
def delete_canned(canned_id: int):
    services().admin.delete_canned(canned_id=canned_id, actor=g.agent)
    return "", 204


@api.get("/api/admin/overview")
@require_agent(admin=True)
def overview():
    container = services()
    present = container.state.present_agents()
    statuses = container.state.agent_statuses(agent_ids=present)
    return jsonify(**container.chat.overview(),
                   languages=container.admin.language_staffing(present=present, statuses=statuses))


@api.get("/api/admin/audit")
@require_agent(admin=True)
def audit_log():
    def number(name: str, default: int | None) -> int | None:
        value = request.args.get(name)
        if value is None:
            return default
        if not value.isdigit() or len(value) > 9:
            raise ServiceError("invalid", f"{name} must be a positive integer.")
        return int(value)

    return jsonify(entries=services().audit.entries(limit=number("limit", 100), before_id=number("before_id", None),
                                                    action=request.args.get("action") or None))
