"""The embeddable widget at /widget.js, its interface text per language, and CORS for its configuration limited to ALLOWED_ORIGINS.

The bundle is built from widget/ (see its README) and committed, so
installing the server needs no Node. Its version is a hash of its content:
/widget.js?v=<version> may be cached for good, plain /widget.js briefly.
"""
from __future__ import annotations

import hashlib
import os

from flask import Blueprint, Flask, current_app, request, send_file, url_for
from flask.blueprints import BlueprintSetupState
from flask.wrappers import Response

from ..services.errors import ServiceError

widget = Blueprint("widget", __name__)

STATIC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static", "widget")
BUNDLE = os.path.join(STATIC, "widget.js")
CATALOGS = os.path.join(STATIC, "i18n")
CONFIG_PATH = "/api/widget/config"
# Host pages reference the plain URL, so a new release reaches them within minutes.
SHORT_CACHE_SECONDS = 300
VERSIONED_CACHE_SECONDS = 365 * 24 * 3600


@widget.record_once
def _remember_version(state: BlueprintSetupState) -> None:
    with open(BUNDLE, "rb") as bundle:
        state.app.extensions["widget_version"] = hashlib.sha256(bundle.read()).hexdigest()[:12]


def widget_version(app: Flask | None = None) -> str:
    """Return the content hash of the bundle being served."""
    return (app or current_app).extensions["widget_version"]


@widget.app_context_processor
def _template_helpers() -> dict[str, object]:
    return {"widget_url": lambda **values: url_for("widget.script", v=widget_version(), **values)}


@widget.get("/widget.js")
def script() -> Response:
    versioned = request.args.get("v") == widget_version()
    response = send_file(BUNDLE, mimetype="text/javascript", conditional=True,
                         max_age=VERSIONED_CACHE_SECONDS if versioned else SHORT_CACHE_SECONDS)
    if versioned:
        response.cache_control.immutable = True
    # Public code: any page may load it, including with Subresource Integrity.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@widget.get("/widget/i18n/<code>.json")
def catalog(code: str) -> Response:
    """Serve one language's interface text; the widget asks for it with ?v=<content hash>."""
    path = os.path.join(CATALOGS, f"{code}.json")
    if not (code.isascii() and code.isalpha() and len(code) <= 8) or not os.path.isfile(path):
        raise ServiceError("not_found", "No interface text for this language.", status=404)
    with open(path, "rb") as file:
        version = hashlib.sha256(file.read()).hexdigest()[:12]
    versioned = request.args.get("v") == version
    response = send_file(path, mimetype="application/json", conditional=True,
                         max_age=VERSIONED_CACHE_SECONDS if versioned else SHORT_CACHE_SECONDS)
    if versioned:
        response.cache_control.immutable = True
    response.headers["Access-Control-Allow-Origin"] = "*"  # public text, like the script itself
    return response


@widget.after_app_request
def _config_cors(response: Response) -> Response:
    """Let pages on the allowed origins read the widget's configuration; no one else."""
    if request.path != CONFIG_PATH:
        return response
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    allowed = current_app.config["ALLOWED_ORIGINS"]
    if origin and (allowed == "*" or origin in allowed):
        response.headers["Access-Control-Allow-Origin"] = origin
    return response
