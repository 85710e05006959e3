"""The demo page: a host website with the widget embedded, and an agent view, in one tab. Development mode only."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, jsonify, render_template

from ..demo import demo_clients
from ..services import services
from .api import json_body

demo = Blueprint("demo", __name__)


@demo.before_request
def development_only():
    # Minting identities is the host site's job; the server does it only in
    # development, for the demo. In production these routes do not exist.
    if current_app.config["ENV"] != "development":
        abort(404)


@demo.get("/demo")
def page():
    return render_template("demo.html")


@demo.get("/api/demo/clients")
def clients():
    return jsonify(clients=demo_clients(services()))


@demo.post("/api/demo/identity")
def identity():
    client = services().admin.get_client(personal_id=json_body().get("personal_id"))
    return jsonify(identity=services().identity.host_tokens.mint(personal_id=client.personal_id, email=client.email,
                                                                 jti=secrets.token_hex(16)))
