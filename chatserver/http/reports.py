"""Reports for admins, as JSON or CSV, and ratings for the agents who earned them (docs/protocol.md)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, g, jsonify, request

from ..services import services
from ..services.errors import ServiceError
from ..services.reports import parse_filter
from .api import require_agent

reports = Blueprint("reports", __name__)


@reports.get("/api/admin/reports")
@require_agent(admin=True)
def all_reports():
    where = parse_filter(request.args.to_dict(), now=services().clock())
    return jsonify(services().reports.report("all", where=where))


@reports.get("/api/admin/reports/<name>")
@require_agent(admin=True)
def one_report(name: str):
    args = request.args.to_dict()
    where = parse_filter(args, now=services().clock())
    output = args.get("format", "json")
    if output == "csv":
        body = services().reports.csv(name, where=where)
        filename = f"{name}_{where.start.date()}_{(where.end - timedelta(days=1)).date()}.csv"
        return Response(body, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    if output != "json":
        raise ServiceError("invalid", "format must be json or csv.")
    return jsonify(services().reports.report(name, where=where))


@reports.get("/api/conversations/<int:conversation_id>/rating")
@require_agent()
def conversation_rating(conversation_id: int):
    return jsonify(rating=services().feedback.for_conversation(agent_id=g.agent.id, conversation_id=conversation_id))
