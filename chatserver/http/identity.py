"""Identity over HTTP: duplicate review, the outbox and client status (admins), email-change approval
(agents), inbound email (the mail provider's signed webhook) and the old address's confirmation page."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, g, jsonify, render_template, request

from ..services import services
from ..services.errors import ServiceError
from ..services.views import client_view
from .api import json_body, require_agent
from .webhooks import SIGNATURE_HEADER, _body, verify_signature

identity = Blueprint("identity", __name__)

FLAG_STATUSES = ("open", "merged", "lifted", "kept")
CHANGE_STATUSES = ("pending", "awaiting_approval", "completed", "rejected", "expired", "cancelled")
OUTBOX_STATUSES = ("pending", "sent", "held", "failed")


def _status_arg(allowed: tuple[str, ...], default: str | None) -> str | None:
    status = request.args.get("status", default)
    if status == "all":
        return None
    if status not in allowed:
        raise ServiceError("invalid", f"status must be one of: {', '.join(allowed)}, all.")
    return status


# --- admins ----------------------------------------------------------------------------------------------
@identity.get("/api/admin/identity/flags")
@require_agent(admin=True)
def list_flags():
    return jsonify(flags=services().identity.flags(status=_status_arg(FLAG_STATUSES, "open")))


@identity.post("/api/admin/identity/flags/<int:flag_id>/decision")
@require_agent(admin=True)
def decide_flag(flag_id: int):
    flag = services().identity.decide_flag(flag_id=flag_id, decision=json_body().get("decision"), agent=g.agent)
    return jsonify(flag=flag)


@identity.put("/api/admin/clients/<personal_id>/status")
@require_agent(admin=True)
def put_client_status(personal_id: str):
    body = json_body()
    client = services().identity.set_status(personal_id=personal_id, status=body.get("status"),
                                            reason=body.get("reason"), agent=g.agent)
    return jsonify(client_view(client, now=services().clock()))


@identity.get("/api/admin/outbox")
@require_agent(admin=True)
def outbox():
    to = request.args.get("to")
    return jsonify(mail=services().mail.outbox(status=_status_arg(OUTBOX_STATUSES, "all"),
                                               to_address=to.strip().lower() if to else None))


@identity.get("/api/admin/identity/audit")
@require_agent(admin=True)
def identity_audit():
    personal_id = request.args.get("personal_id")
    target = ("client", personal_id) if personal_id else None
    return jsonify(entries=services().audit.entries(limit=request.args.get("limit", 200, type=int),
                                                    action=request.args.get("action"), target=target))


# --- agents: email changes asked for from the account ----------------------------------------------------------
@identity.get("/api/email-changes")
@require_agent()
def list_email_changes():
    return jsonify(email_changes=services().identity.email_changes(
        status=_status_arg(CHANGE_STATUSES, "awaiting_approval")))


@identity.post("/api/email-changes/<int:change_id>/approve")
@require_agent()
def approve_email_change(change_id: int):
    return jsonify(email_change=services().identity.approve_email_change(change_id=change_id, agent=g.agent))


@identity.post("/api/email-changes/<int:change_id>/reject")
@require_agent()
def reject_email_change(change_id: int):
    return jsonify(email_change=services().identity.reject_email_change(change_id=change_id, agent=g.agent))


# --- email: the inbound webhook, and both addresses' confirmations ----------------------------------------------
@identity.post("/api/inbound/email")
def inbound_email():
    secret = current_app.config["INBOUND_EMAIL_SECRET"]
    if not secret:
        raise ServiceError("not_configured", "Set INBOUND_EMAIL_SECRET to accept inbound email.", status=404)
    body = _body()
    verify_signature(body, request.headers.get(SIGNATURE_HEADER), secret=secret)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ServiceError("invalid", "The body must be a JSON object with from, subject and text.")
    result = services().identity.inbound_email(sender=data.get("from"), subject=data.get("subject"),
                                               text=data.get("text"), base_url=request.host_url)
    return jsonify(result), 202


@identity.post("/api/email-change/confirm-old")
def confirm_old_json():
    return jsonify(email_change={"status": services().identity.confirm_old_address(
        token=json_body().get("token"))["status"]})


@identity.post("/api/email-change/verify")
def verify_new_json():
    body = json_body()
    return jsonify(email_change=services().identity.confirm_new_address(email=body.get("email"), code=body.get("code"),
                                                                        ip=request.remote_addr))


@identity.get("/email-change/confirm")
def confirm_old_page():
    # A GET only shows the button: mail scanners open links, and must not confirm anything.
    return render_template("email_change.html", step="confirm", token=request.args.get("token", ""), result=None)


@identity.post("/email-change/confirm")
def confirm_old_submit():
    try:
        status = services().identity.confirm_old_address(token=request.form.get("token"))["status"]
    except ServiceError as error:
        return render_template("email_change.html", step="confirm", token="", result=None,
                               error=error.message), error.status
    return render_template("email_change.html", step="confirm", token="", result=status)


@identity.get("/email-change/verify")
def verify_new_page():
    return render_template("email_change.html", step="verify", email=request.args.get("email", ""), result=None)


@identity.post("/email-change/verify")
def verify_new_submit():
    email = request.form.get("email", "")
    try:
        status = services().identity.confirm_new_address(email=email, code=request.form.get("code"),
                                                         ip=request.remote_addr)["status"]
    except ServiceError as error:
        return render_template("email_change.html", step="verify", email=email, result=None,
                               error=error.message), error.status
    return render_template("email_change.html", step="verify", email="", result=status)
